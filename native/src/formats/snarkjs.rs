//! snarkjs's Groth16 JSON shapes (protocol "groth16", curve "bn128"), so that
//! `snarkjs groth16 verify` accepts our files and we accept theirs.
//!
//! Field elements are decimal strings. G1 points are [x, y, "1"], G2 points
//! [[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]; the point at infinity has z = 0.
//! Reading is strict: every coordinate must be a canonical decimal below the
//! field modulus, and every point on its curve and in the prime-order subgroup.

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField, Zero};
use num_bigint::BigUint;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::groth16::{Proof, VerifyingKey};

/// A field element as the canonical decimal string snarkjs uses.
pub fn dec<F: PrimeField>(x: &F) -> String {
    BigUint::from_bytes_le(&x.into_bigint().to_bytes_le()).to_string()
}

fn parse_field<F: PrimeField>(v: &Value, what: &str) -> Result<F> {
    let s = v.as_str().ok_or_else(|| Error::Format(format!("{what}: expected a decimal string, got {v}")))?;
    if s.is_empty() || s.len() > 80 || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return Err(Error::Format(format!("{what}: '{s}' is not a canonical decimal number")));
    }
    let n = BigUint::parse_bytes(s.as_bytes(), 10).expect("digits checked");
    let modulus = BigUint::from_bytes_le(&F::MODULUS.to_bytes_le());
    if n >= modulus {
        return Err(Error::Format(format!("{what}: {s} is not below the field modulus")));
    }
    Ok(F::from_le_bytes_mod_order(&n.to_bytes_le()))
}

fn array<'a>(v: &'a Value, len: usize, what: &str) -> Result<&'a Vec<Value>> {
    match v.as_array() {
        Some(a) if a.len() == len => Ok(a),
        _ => Err(Error::Format(format!("{what}: expected an array of {len}"))),
    }
}

pub fn g1_to_json(p: &G1Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([dec(&x), dec(&y), "1"]),
        None => json!(["0", "1", "0"]),
    }
}

pub fn g2_to_json(p: &G2Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([[dec(&x.c0), dec(&x.c1)], [dec(&y.c0), dec(&y.c1)], ["1", "0"]]),
        None => json!([["0", "0"], ["1", "0"], ["0", "0"]]),
    }
}

pub fn g1_from_json(v: &Value, what: &str) -> Result<G1Affine> {
    let a = array(v, 3, what)?;
    let z: Fq = parse_field(&a[2], what)?;
    let (x, y): (Fq, Fq) = (parse_field(&a[0], what)?, parse_field(&a[1], what)?);
    if z.is_zero() {
        // Only the canonical encoding: one point, one encoding.
        if !x.is_zero() || y != Fq::from(1u64) {
            return Err(Error::Format(format!("{what}: the point at infinity must be written [\"0\", \"1\", \"0\"]")));
        }
        return Ok(G1Affine::zero());
    }
    if z != Fq::from(1u64) {
        return Err(Error::Format(format!("{what}: z must be 1 (affine) or 0 (infinity)")));
    }
    let p = G1Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(Error::Format(format!("{what}: point is not on the BN254 G1 curve")));
    }
    Ok(p)
}

pub fn g2_from_json(v: &Value, what: &str) -> Result<G2Affine> {
    let a = array(v, 3, what)?;
    let fq2 = |v: &Value| -> Result<Fq2> {
        let c = array(v, 2, what)?;
        Ok(Fq2::new(parse_field(&c[0], what)?, parse_field(&c[1], what)?))
    };
    let z = fq2(&a[2])?;
    let (x, y) = (fq2(&a[0])?, fq2(&a[1])?);
    if z.is_zero() {
        if !x.is_zero() || y != Fq2::from(1u64) {
            return Err(Error::Format(format!(
                "{what}: the point at infinity must be written [[\"0\", \"0\"], [\"1\", \"0\"], [\"0\", \"0\"]]"
            )));
        }
        return Ok(G2Affine::zero());
    }
    if z != Fq2::from(1u64) {
        return Err(Error::Format(format!("{what}: z must be 1 (affine) or 0 (infinity)")));
    }
    let p = G2Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(Error::Format(format!("{what}: point is not on the BN254 G2 twist")));
    }
    // G2 has a large cofactor: a point on the twist but outside the r-order
    // subgroup must be refused, or pairing-based checks lose their meaning.
    if !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(Error::Format(format!("{what}: point is not in the G2 subgroup")));
    }
    Ok(p)
}

fn check_header(v: &Value, what: &str) -> Result<()> {
    for (key, want) in [("protocol", "groth16"), ("curve", "bn128")] {
        if let Some(got) = v.get(key) {
            if got.as_str() != Some(want) {
                return Err(Error::Format(format!("{what}: {key} is {got}, expected \"{want}\"")));
            }
        }
    }
    Ok(())
}

pub fn vk_to_json(vk: &VerifyingKey) -> Value {
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.gamma_abc_g1.len() - 1,
        "vk_alpha_1": g1_to_json(&vk.alpha_g1),
        "vk_beta_2": g2_to_json(&vk.beta_g2),
        "vk_gamma_2": g2_to_json(&vk.gamma_g2),
        "vk_delta_2": g2_to_json(&vk.delta_g2),
        "IC": vk.gamma_abc_g1.iter().map(g1_to_json).collect::<Vec<_>>(),
    })
}

pub fn vk_from_json(v: &Value) -> Result<VerifyingKey> {
    let what = "verification key";
    check_header(v, what)?;
    let field = |k: &str| v.get(k).ok_or_else(|| Error::Format(format!("{what}: missing \"{k}\"")));
    let ic = field("IC")?.as_array().ok_or_else(|| Error::Format(format!("{what}: IC must be an array")))?;
    if ic.is_empty() {
        return Err(Error::Format(format!("{what}: IC is empty")));
    }
    if let Some(n) = v.get("nPublic") {
        if n.as_u64() != Some(ic.len() as u64 - 1) {
            return Err(Error::Format(format!("{what}: nPublic {n} does not match {} IC points", ic.len())));
        }
    }
    Ok(VerifyingKey {
        alpha_g1: g1_from_json(field("vk_alpha_1")?, "vk_alpha_1")?,
        beta_g2: g2_from_json(field("vk_beta_2")?, "vk_beta_2")?,
        gamma_g2: g2_from_json(field("vk_gamma_2")?, "vk_gamma_2")?,
        delta_g2: g2_from_json(field("vk_delta_2")?, "vk_delta_2")?,
        gamma_abc_g1: ic
            .iter()
            .enumerate()
            .map(|(i, p)| g1_from_json(p, &format!("IC[{i}]")))
            .collect::<Result<_>>()?,
    })
}

pub fn proof_to_json(p: &Proof) -> Value {
    json!({
        "pi_a": g1_to_json(&p.a),
        "pi_b": g2_to_json(&p.b),
        "pi_c": g1_to_json(&p.c),
        "protocol": "groth16",
        "curve": "bn128",
    })
}

pub fn proof_from_json(v: &Value) -> Result<Proof> {
    check_header(v, "proof")?;
    let field = |k: &str| v.get(k).ok_or_else(|| Error::Format(format!("proof: missing \"{k}\"")));
    Ok(Proof {
        a: g1_from_json(field("pi_a")?, "pi_a")?,
        b: g2_from_json(field("pi_b")?, "pi_b")?,
        c: g1_from_json(field("pi_c")?, "pi_c")?,
    })
}

/// A canonical decimal below r (a salt, a commitment) as a field element.
pub fn fr_from_decimal(s: &str, what: &str) -> Result<Fr> {
    parse_field::<Fr>(&Value::String(s.to_string()), what)
}

pub fn public_to_json(x: &[Fr]) -> Value {
    Value::Array(x.iter().map(|f| Value::String(dec(f))).collect())
}

/// Public signals must each be below r: the verifier would otherwise reduce
/// them, and x and x + r would both "verify" (a malleability the EVM verifier
/// refuses too).
pub fn public_from_json(v: &Value) -> Result<Vec<Fr>> {
    let a = v.as_array().ok_or_else(|| Error::Format("public inputs: expected an array of decimal strings".into()))?;
    a.iter().enumerate().map(|(i, x)| parse_field::<Fr>(x, &format!("public input {i}"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::PrimeGroup;
    use ark_ff::UniformRand;

    #[test]
    fn generator_round_trips_and_matches_snarkjs_convention() {
        let g1 = G1Affine::generator();
        assert_eq!(g1_to_json(&g1), json!(["1", "2", "1"]));
        assert_eq!(g1_from_json(&g1_to_json(&g1), "g").unwrap(), g1);
        let g2 = ark_bn254::G2Projective::generator().into();
        let j = g2_to_json(&g2);
        // EIP-197's generator: x = 1085704699...*i + 1083...; c0 is listed first.
        assert!(j[0][0]
            .as_str()
            .unwrap()
            .starts_with("108570469990230571359445707622328294813707563595785180869905199932856558527"));
        assert_eq!(g2_from_json(&j, "g").unwrap(), g2);
        assert_eq!(g2_from_json(&g2_to_json(&G2Affine::zero()), "o").unwrap(), G2Affine::zero());
    }

    #[test]
    fn rejects_non_canonical_out_of_range_and_off_curve() {
        assert!(parse_field::<Fr>(&json!("012"), "x").is_err());
        assert!(parse_field::<Fr>(&json!("-1"), "x").is_err());
        assert!(parse_field::<Fr>(&json!(5), "x").is_err());
        let r = BigUint::from_bytes_le(&Fr::MODULUS.to_bytes_le());
        assert!(parse_field::<Fr>(&json!(r.to_string()), "x").is_err());
        assert!(parse_field::<Fr>(&json!((r - 1u32).to_string()), "x").is_ok());
        assert!(g1_from_json(&json!(["1", "3", "1"]), "p").is_err());
    }

    #[test]
    fn the_point_at_infinity_has_exactly_one_encoding() {
        assert_eq!(g1_from_json(&json!(["0", "1", "0"]), "p").unwrap(), G1Affine::zero());
        for other in [json!(["5", "7", "0"]), json!(["0", "0", "0"]), json!(["1", "2", "0"])] {
            let err = g1_from_json(&other, "p").err().unwrap();
            assert!(err.to_string().contains("must be written"), "{err}");
        }
        let canonical = json!([["0", "0"], ["1", "0"], ["0", "0"]]);
        assert_eq!(g2_from_json(&canonical, "q").unwrap(), G2Affine::zero());
        assert!(g2_from_json(&json!([["3", "0"], ["1", "0"], ["0", "0"]]), "q").is_err());
        assert!(g2_from_json(&json!([["0", "0"], ["1", "1"], ["0", "0"]]), "q").is_err());
    }

    #[test]
    fn rejects_a_g2_point_outside_the_subgroup() {
        // Find a point on the twist y^2 = x^3 + b' that is not in the subgroup:
        // almost every random curve point is outside it (cofactor ~ 2^254).
        let mut rng = ark_std::test_rng();
        let p = loop {
            let x = Fq2::rand(&mut rng);
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
                break p;
            }
        };
        assert!(p.is_on_curve() && !p.is_in_correct_subgroup_assuming_on_curve());
        assert!(matches!(g2_from_json(&g2_to_json(&p), "b"), Err(Error::Format(m)) if m.contains("subgroup")));
    }
}
