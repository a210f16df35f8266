// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @title ZkmlSettlement
/// @notice Pays for one inference of a model, proved off-chain with zkml.
///
/// A requester posts a request: the model (the address of its zkml verifier),
/// a commitment to the input, a payment held here in escrow, and a deadline.
/// Any prover may fulfil it before the deadline with the output and a Groth16
/// proof; the contract checks the proof, records and emits the output, and
/// pays the prover. After the deadline an unfulfilled request's payment goes
/// back to the requester, and only to them.
///
/// The model must be compiled with `zkml compile --bind-sender`: its public
/// signals are then [input signals (k of them), sender, output signals], and
/// the sender signal must equal `uint160(msg.sender)`. A proof made for one
/// address is therefore useless to anyone else, so copying a pending
/// `fulfil` from the mempool gains nothing. The input commitment is
/// `keccak256` of the k input signals as 32-byte big-endian words
/// (`abi.encodePacked(uint256[])`), so a proof for another input fails;
/// the verifier named by the request holds one model's key, so a proof for
/// another model fails.
///
/// Every state change happens before the one external call that can run
/// code (the payment), so a receiver that calls back finds the request
/// already closed (checks-effects-interactions).
contract ZkmlSettlement {
    enum Status {
        None,
        Open,
        Fulfilled,
        Reclaimed
    }

    struct Request {
        address requester;
        uint64 deadline; // unix time; fulfil until (inclusive), reclaim after
        uint16 inputSignals; // k: the sender is signal k
        Status status;
        address verifier;
        uint96 payment; // wei held in escrow
        bytes32 inputCommitment;
        address prover; // who was paid (Fulfilled only)
    }

    /// @notice No request has this id.
    error UnknownRequest(uint256 id);
    /// @notice The request was fulfilled already.
    error AlreadyFulfilled(uint256 id);
    /// @notice The requester took the payment back already.
    error AlreadyReclaimed(uint256 id);
    /// @notice The deadline has passed: the request can no longer be fulfilled.
    error DeadlinePassed(uint256 id, uint64 deadline);
    /// @notice The deadline has not passed yet: the payment cannot be reclaimed.
    error DeadlineNotReached(uint256 id, uint64 deadline);
    /// @notice Only the requester may reclaim the payment.
    error NotRequester(uint256 id, address requester);
    /// @notice The signals hold no sender slot and output (fewer than k + 2 of them).
    error TooFewSignals(uint256 id, uint256 count, uint256 inputSignals);
    /// @notice The sender signal is not the caller's address: the proof was made for `bound`.
    error WrongSender(uint256 bound, address sender);
    /// @notice The input signals do not hash to the request's input commitment.
    error InputMismatch(uint256 id, bytes32 commitment, bytes32 given);
    /// @notice The request's verifier rejected the proof.
    error InvalidProof(uint256 id);
    /// @notice The verifier reverted without a reason (e.g. no verifyProof for this many signals).
    error VerifierReverted(uint256 id);
    /// @notice The verifier address holds no code.
    error NotAContract(address verifier);
    /// @notice The deadline is not in the future.
    error DeadlineInPast(uint64 deadline);
    /// @notice k is zero or above the signal counts a verifier can take.
    error BadInputSignals(uint256 inputSignals);
    /// @notice The payment does not fit in 96 bits.
    error PaymentTooLarge(uint256 payment);
    /// @notice Sending the payment failed (the receiver reverted).
    error PaymentFailed(address to, uint256 amount);

    event Requested(
        uint256 indexed id,
        address indexed requester,
        address indexed verifier,
        bytes32 inputCommitment,
        uint16 inputSignals,
        uint256 payment,
        uint64 deadline
    );
    event Fulfilled(uint256 indexed id, address indexed prover, uint256[] outputSignals);
    event Reclaimed(uint256 indexed id, uint256 payment);

    /// @notice Ids start at 1; `requestCount` is the last one given.
    uint256 public requestCount;
    mapping(uint256 => Request) private _requests;
    mapping(uint256 => uint256[]) private _outputs;

    /// @notice Post a request; the value sent is the payment.
    /// @param verifier the model's zkml verifier (compiled with --bind-sender)
    /// @param inputSignals k: how many public signals hold the model's input (settings.json `sender.signal`)
    /// @param inputCommitment keccak256 of those k signals, 32 bytes each
    /// @param deadline unix time until which the request can be fulfilled
    /// @return id the request's id
    function request(address verifier, uint16 inputSignals, bytes32 inputCommitment, uint64 deadline)
        external
        payable
        returns (uint256 id)
    {
        if (verifier.code.length == 0) revert NotAContract(verifier);
        if (deadline <= block.timestamp) revert DeadlineInPast(deadline);
        if (inputSignals == 0) revert BadInputSignals(inputSignals);
        if (msg.value > type(uint96).max) revert PaymentTooLarge(msg.value);
        id = ++requestCount;
        _requests[id] = Request({
            requester: msg.sender,
            deadline: deadline,
            inputSignals: inputSignals,
            status: Status.Open,
            verifier: verifier,
            payment: uint96(msg.value),
            inputCommitment: inputCommitment,
            prover: address(0)
        });
        emit Requested(id, msg.sender, verifier, inputCommitment, inputSignals, msg.value, deadline);
    }

    /// @notice Fulfil request `id` with a proof made for the caller's address.
    /// @param proof [A.x, A.y, B.x_im, B.x_re, B.y_im, B.y_re, C.x, C.y] (`zkml calldata` order)
    /// @param signals all public signals (public.json): inputs, the caller's address, outputs
    function fulfil(uint256 id, uint256[8] calldata proof, uint256[] calldata signals) external {
        Request storage r = _open(id);
        if (block.timestamp > r.deadline) revert DeadlinePassed(id, r.deadline);
        uint256 k = r.inputSignals;
        if (signals.length < k + 2) revert TooFewSignals(id, signals.length, k);
        if (signals[k] != uint256(uint160(msg.sender))) revert WrongSender(signals[k], msg.sender);
        bytes32 given = keccak256(abi.encodePacked(signals[:k]));
        if (given != r.inputCommitment) revert InputMismatch(id, r.inputCommitment, given);
        _verify(id, r.verifier, proof, signals);

        // Effects, then the one interaction.
        uint256 payment = r.payment;
        r.status = Status.Fulfilled;
        r.prover = msg.sender;
        uint256[] calldata outputSignals = signals[k + 1:];
        _outputs[id] = outputSignals;
        emit Fulfilled(id, msg.sender, outputSignals);
        _pay(msg.sender, payment);
    }

    /// @notice After the deadline, the requester takes back the payment of a request nobody fulfilled.
    function reclaim(uint256 id) external {
        Request storage r = _open(id);
        if (msg.sender != r.requester) revert NotRequester(id, r.requester);
        if (block.timestamp <= r.deadline) revert DeadlineNotReached(id, r.deadline);
        uint256 payment = r.payment;
        r.status = Status.Reclaimed;
        emit Reclaimed(id, payment);
        _pay(msg.sender, payment);
    }

    /// @notice Request `id` as posted (and, once fulfilled, who was paid).
    function requestOf(uint256 id) external view returns (Request memory) {
        return _requests[id];
    }

    /// @notice The output signals a fulfilled request recorded (decode them with ZkmlOutputs).
    function outputsOf(uint256 id) external view returns (uint256[] memory) {
        return _outputs[id];
    }

    function _open(uint256 id) private view returns (Request storage r) {
        r = _requests[id];
        Status status = r.status;
        if (status == Status.Open) return r;
        if (status == Status.Fulfilled) revert AlreadyFulfilled(id);
        if (status == Status.Reclaimed) revert AlreadyReclaimed(id);
        revert UnknownRequest(id);
    }

    /// @dev Calls the verifier's verifyProof(uint256[8], uint256[N]) with N = signals.length.
    /// Its PrecompileFailed() revert (not enough gas) is passed on as it is, never read as
    /// "invalid", so a valid proof cannot be refused for lack of gas.
    function _verify(uint256 id, address verifier, uint256[8] calldata proof, uint256[] calldata signals)
        private
        view
    {
        bytes4 selector = bytes4(
            keccak256(abi.encodePacked("verifyProof(uint256[8],uint256[", _decimal(signals.length), "])"))
        );
        (bool ok, bytes memory answer) = verifier.staticcall(abi.encodePacked(selector, proof, signals));
        if (!ok) {
            if (answer.length == 0) revert VerifierReverted(id);
            assembly ("memory-safe") {
                revert(add(answer, 0x20), mload(answer))
            }
        }
        if (answer.length != 32 || abi.decode(answer, (uint256)) != 1) revert InvalidProof(id);
    }

    function _pay(address to, uint256 amount) private {
        (bool sent,) = to.call{value: amount}("");
        if (!sent) revert PaymentFailed(to, amount);
    }

    function _decimal(uint256 value) private pure returns (bytes memory text) {
        uint256 digits = 1;
        for (uint256 v = value; v >= 10; v /= 10) {
            ++digits;
        }
        text = new bytes(digits);
        for (uint256 i = digits; i > 0; --i) {
            text[i - 1] = bytes1(uint8(48 + (value % 10)));
            value /= 10;
        }
    }
}
