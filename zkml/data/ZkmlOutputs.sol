// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @title ZkmlOutputs
/// @notice Reads a model's values out of the public signals of a zkml proof.
/// @dev zkml packs each public tensor (the model's inputs, then its outputs)
/// into public signals (docs/program.md): with b the tensor's bit width,
/// k = floor(252 / b) values share one signal, value j of a signal sitting at
/// bits [j*b, (j+1)*b) as the unsigned number q + 2^(b-1), where q is the
/// signed quantized value. A tensor starts on a fresh signal, so it is
/// described by (first signal, number of values, b); its real values are
/// q * 2^-scale. `zkml export-verifier` prints these numbers for every output
/// of a model, and `zkml.evm.outputs.output_layout` gives them in Python.
///
/// Only read signals that a verifier has accepted: the proof is what makes
/// them the model's outputs. A signal with bits set above its values cannot
/// come from a proof and reverts with `SignalOutOfRange`.
library ZkmlOutputs {
    /// @notice Signal `index` holds bits above its packed values.
    error SignalOutOfRange(uint256 index);
    /// @notice A bit width outside 2..64, or values beyond the signals given.
    error BadLayout();

    uint256 internal constant PACK_BITS = 252;

    /// @notice The `count` signed values of a tensor whose first signal is
    /// `signals[first]` and whose values are `bits` wide.
    function unpack(uint256[] memory signals, uint256 first, uint256 count, uint256 bits)
        internal
        pure
        returns (int256[] memory values)
    {
        if (bits < 2 || bits > 64) revert BadLayout();
        uint256 perSignal = PACK_BITS / bits;
        uint256 nSignals = (count + perSignal - 1) / perSignal;
        if (first + nSignals > signals.length) revert BadLayout();
        values = new int256[](count);
        uint256 mask = (1 << bits) - 1;
        int256 offset = int256(1 << (bits - 1));
        for (uint256 s = 0; s < nSignals; s++) {
            uint256 word = signals[first + s];
            uint256 held = count - s * perSignal;
            if (held > perSignal) held = perSignal;
            if (word >> (held * bits) != 0) revert SignalOutOfRange(first + s);
            for (uint256 j = 0; j < held; j++) {
                values[s * perSignal + j] = int256((word >> (j * bits)) & mask) - offset;
            }
        }
    }

    /// @notice Value `index` of the tensor alone (no array is built).
    function valueAt(uint256[] memory signals, uint256 first, uint256 index, uint256 bits)
        internal
        pure
        returns (int256)
    {
        if (bits < 2 || bits > 64) revert BadLayout();
        uint256 perSignal = PACK_BITS / bits;
        uint256 s = first + index / perSignal;
        if (s >= signals.length) revert BadLayout();
        uint256 word = signals[s];
        return int256((word >> ((index % perSignal) * bits)) & ((1 << bits) - 1)) - int256(1 << (bits - 1));
    }

    /// @notice The index of the largest value (the first one on a tie):
    /// the predicted class of a classifier's logits.
    function argmax(int256[] memory values) internal pure returns (uint256 best) {
        if (values.length == 0) revert BadLayout();
        for (uint256 i = 1; i < values.length; i++) {
            if (values[i] > values[best]) best = i;
        }
    }
}
