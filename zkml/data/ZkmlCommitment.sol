// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @title ZkmlCommitment
/// @notice Recomputes zkml's salted Poseidon commitment of a tensor on-chain,
/// so a contract that knows a value (and its salt) can check it against the
/// commitment a proof made public (docs/poseidon.md, "Commitments").
/// @dev The commitment of signed values x_0..x_{N-1}, each b bits wide
/// (2 <= b <= 64, -2^(b-1) <= x < 2^(b-1)), and a salt s in [0, r):
///  - pack: k = floor(252 / b) values per field element,
///    e_j = sum_t (x_{jk+t} + 2^(b-1)) * 2^(b*t) over the values that exist
///    (the last element may hold fewer), j = 0..m-1, m = ceil(N / k);
///  - chain: h = s; for each consecutive chunk C of up to ELEMENTS_PER_HASH
///    (5) elements, in order, h = Poseidon([h] ++ C); the commitment is the
///    final h (with no values, it is s itself).
/// Poseidon is circomlib's, computed by the contracts circomlibjs generates
/// (`poseidon_gencontract.createCode(n)`, n = 2..6; `zkml.evm.poseidon_contract`
/// gives their bytecode). Their generator cannot build more than 6 inputs
/// (iden3/circomlibjs#17), hence 5 elements besides h per hash.
///
/// The contracts are passed in as `poseidon[n - 2]` = the deployed n-input
/// contract. Every full chunk uses the 6-input one (`poseidon[4]`) and only the
/// last call may be shorter (`lastCall` says which), so a tensor of fixed size
/// needs at most two of them; the other entries may be zero.
library ZkmlCommitment {
    /// @notice A bit width outside 2..64.
    error BitsOutOfRange(uint256 bits);
    /// @notice Value `index` does not fit in `bits` signed bits.
    error ValueOutOfRange(uint256 index, int256 value);
    /// @notice The salt is not a field element (it must be below r).
    error SaltOutOfRange(uint256 salt);
    /// @notice Packed element `index` is not below r.
    error ElementOutOfRange(uint256 index);
    /// @notice The Poseidon contract given for `nInputs` inputs did not return one word
    /// (not deployed there, a zero address, or not a circomlibjs Poseidon contract).
    error PoseidonCallFailed(address poseidon, uint256 nInputs);

    /// @notice r, the order of BN254's scalar field.
    uint256 internal constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Bits of one packed element (values never reach r).
    uint256 internal constant PACK_BITS = 252;
    /// @notice Elements absorbed per hash besides the chained h.
    uint256 internal constant ELEMENTS_PER_HASH = 5;

    /// @dev The selectors of `poseidon(uint256[n])`, n = 2..6, 4 bytes each, n = 2 lowest
    /// (the leading 00 keeps solc from reading 20 bytes as an address literal).
    uint256 private constant SELECTORS = 0x00_f5b4a788_4937a258_248f6677_25cc70e8_29a5f2f6;

    /// @notice The commitment of `values` (`bits` wide) under `salt`.
    function commit(int256[] memory values, uint256 bits, uint256 salt, address[5] memory poseidon)
        internal
        view
        returns (uint256)
    {
        return commitPacked(pack(values, bits), salt, poseidon);
    }

    /// @notice The field elements e_0..e_{m-1} that `values` pack into. They are
    /// what zkml's public signals hold for a public tensor (ZkmlOutputs.sol).
    function pack(int256[] memory values, uint256 bits) internal pure returns (uint256[] memory elements) {
        if (bits < 2 || bits > 64) revert BitsOutOfRange(bits);
        uint256 perElement = PACK_BITS / bits;
        uint256 n = values.length;
        uint256 m = (n + perElement - 1) / perElement;
        elements = new uint256[](m);
        int256 half = int256(1 << (bits - 1));
        unchecked {
            // No overflow: i <= n, shift < 252, and v + half is in [0, 2^bits) once v is checked.
            uint256 i = 0;
            for (uint256 j = 0; j < m; ++j) {
                uint256 end = i + perElement;
                if (end > n) end = n;
                uint256 word = 0;
                for (uint256 shift = 0; i < end; ++i) {
                    int256 v = values[i];
                    if (v < -half || v >= half) revert ValueOutOfRange(i, v);
                    word |= uint256(v + half) << shift;
                    shift += bits;
                }
                elements[j] = word;
            }
        }
    }

    /// @notice The commitment of already packed `elements` (each below r) under `salt`.
    function commitPacked(uint256[] memory elements, uint256 salt, address[5] memory poseidon)
        internal
        view
        returns (uint256 h)
    {
        if (salt >= FIELD_MODULUS) revert SaltOutOfRange(salt);
        for (uint256 j = 0; j < elements.length; j++) {
            if (elements[j] >= FIELD_MODULUS) revert ElementOutOfRange(j);
        }
        h = salt;
        for (uint256 start = 0; start < elements.length; start += ELEMENTS_PER_HASH) {
            uint256 count = elements.length - start;
            if (count > ELEMENTS_PER_HASH) count = ELEMENTS_PER_HASH;
            h = _hash(poseidon[count - 1], h, elements, start, count);
        }
    }

    /// @notice For `count` values `bits` wide: the number of Poseidon calls a
    /// commitment makes, and the number of inputs of the last one (0 when none),
    /// i.e. which contracts `commit` needs: the 6-input one when `calls > 1`,
    /// and the `lastInputs`-input one.
    function lastCall(uint256 count, uint256 bits) internal pure returns (uint256 calls, uint256 lastInputs) {
        if (bits < 2 || bits > 64) revert BitsOutOfRange(bits);
        uint256 perElement = PACK_BITS / bits;
        uint256 m = (count + perElement - 1) / perElement;
        calls = (m + ELEMENTS_PER_HASH - 1) / ELEMENTS_PER_HASH;
        if (calls > 0) lastInputs = m - (calls - 1) * ELEMENTS_PER_HASH + 1;
    }

    /// @dev Poseidon([h, elements[start], ..., elements[start + count - 1]]) by
    /// `target`, the (count + 1)-input circomlibjs contract. Its calldata is the
    /// selector then the words (a static array); it returns one word.
    function _hash(address target, uint256 h, uint256[] memory elements, uint256 start, uint256 count)
        private
        view
        returns (uint256 out)
    {
        uint256 nInputs = count + 1;
        uint256 sel = (SELECTORS >> (32 * (nInputs - 2))) & 0xffffffff;
        bool ok;
        assembly ("memory-safe") {
            // Scratch calldata beyond the free memory pointer; the result in scratch space 0..32.
            let p := mload(0x40)
            mstore(p, shl(224, sel))
            mstore(add(p, 0x04), h)
            let src := add(add(elements, 0x20), shl(5, start))
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                mstore(add(add(p, 0x24), shl(5, i)), mload(add(src, shl(5, i))))
            }
            ok := staticcall(gas(), target, p, add(0x04, shl(5, nInputs)), 0x00, 0x20)
            ok := and(ok, eq(returndatasize(), 0x20))
            out := mload(0x00)
        }
        if (!ok) revert PoseidonCallFailed(target, nInputs);
    }
}
