//! zkml's native core: R1CS gadgets and witness generation, Groth16 over BN254,
//! and the MSM/NTT the prover spends its time in.
