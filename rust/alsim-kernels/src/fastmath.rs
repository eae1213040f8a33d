//! A branch-free natural logarithm that compilers can vectorise, accurate to a few units in the last
//! place (checked against `f64::ln` in the tests). Used by the entropy-like kernels, whose cost is
//! otherwise dominated by scalar `ln` calls.

/// `ln(x)` for finite `x >= f64::MIN_POSITIVE` (normal numbers); callers clamp smaller inputs.
///
/// Writes `x = 2^e * m` with `m` in `[sqrt(1/2), sqrt(2))`, then `ln m = 2 atanh(s)` with
/// `s = (m - 1) / (m + 1)`, `|s| < 0.172`, summed as the odd power series `2 s sum_j s^(2j) / (2j + 1)`
/// up to `j = 10` (truncation below 1e-17 relative).
#[inline(always)]
pub(crate) fn ln(x: f64) -> f64 {
    const SQRT_HALF_BITS: u64 = 0x3FE6_A09E_667F_3BCD;
    const MAGIC: u64 = 0x4330_0000_0000_0000; // 2^52 as f64 bits
    let bits = x.to_bits();
    // Subtracting the bits of sqrt(1/2) moves the exponent boundary to sqrt(1/2): the exponent field of
    // `shifted` is the `e` we want (as a biased 12-bit two's-complement field).
    let shifted = bits.wrapping_sub(SQRT_HALF_BITS);
    let exponent_field = (shifted >> 52).wrapping_add(0x800) & 0xFFF; // e + 2048, in [0, 4096)
    let m = f64::from_bits(bits.wrapping_sub(((exponent_field.wrapping_sub(0x800)) & 0xFFF) << 52));
    // Exact integer-to-float conversion without a (non-vectorisable) i64 -> f64 instruction.
    let e = f64::from_bits(MAGIC | exponent_field) - (4_503_599_627_370_496.0 + 2048.0);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let mut poly = 1.0 / 21.0;
    poly = poly * z + 1.0 / 19.0;
    poly = poly * z + 1.0 / 17.0;
    poly = poly * z + 1.0 / 15.0;
    poly = poly * z + 1.0 / 13.0;
    poly = poly * z + 1.0 / 11.0;
    poly = poly * z + 1.0 / 9.0;
    poly = poly * z + 1.0 / 7.0;
    poly = poly * z + 1.0 / 5.0;
    poly = poly * z + 1.0 / 3.0;
    // ln m = 2s + 2s z poly = f - f^2/2 + s (f^2/2 ... ) is more accurate written around f:
    // 2s = f - s f, so ln m = f - s f + 2 s z poly.
    let ln_m = f - s * f + 2.0 * s * z * poly;
    e * std::f64::consts::LN_2 + ln_m
}

/// `p ln p` with `0 ln 0 = 0`, branch-free, for finite `p >= 0`. Subnormal `p` use `ln(MIN_POSITIVE)`,
/// an absolute error below 1e-305.
#[inline(always)]
pub(crate) fn xlogx(p: f64) -> f64 {
    let clamped = if p > f64::MIN_POSITIVE {
        p
    } else {
        f64::MIN_POSITIVE
    };
    p * ln(clamped)
}

/// Replaces every value `p` of `values` (finite, `p >= 0`) by `p ln p`.
///
/// On x86-64 CPUs with AVX-512 or AVX2 the same code is also compiled for 512- or 256-bit vectors and
/// chosen at run time; every version performs the same IEEE operations (no fused multiply-add), so
/// results are bit-identical on every machine.
pub(crate) fn xlogx_in_place(values: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            unsafe { xlogx_in_place_avx512(values) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { xlogx_in_place_avx2(values) };
            return;
        }
    }
    xlogx_in_place_portable(values);
}

#[inline(always)]
fn xlogx_loop(values: &mut [f64]) {
    for v in values.iter_mut() {
        *v = xlogx(*v);
    }
}

fn xlogx_in_place_portable(values: &mut [f64]) {
    xlogx_loop(values);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn xlogx_in_place_avx2(values: &mut [f64]) {
    xlogx_loop(values);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn xlogx_in_place_avx512(values: &mut [f64]) {
    xlogx_loop(values);
}

/// Sum of a short run of values in a fixed order (four interleaved partial sums).
#[inline]
pub(crate) fn fixed_order_sum(values: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut chunks = values.chunks_exact(4);
    for chunk in &mut chunks {
        for l in 0..4 {
            acc[l] += chunk[l];
        }
    }
    for (l, v) in chunks.remainder().iter().enumerate() {
        acc[l] += v;
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Error of our `ln` relative to std's (absolute where std's is 0).
    fn relative_error(v: f64) -> f64 {
        let (a, b) = (ln(v), v.ln());
        if b == 0.0 {
            a.abs()
        } else {
            ((a - b) / b).abs()
        }
    }

    #[test]
    fn ln_matches_std() {
        let mut worst = 0.0f64;
        let mut x = f64::MIN_POSITIVE;
        while x < 1e300 {
            for t in [
                1.0,
                1.0 + 1e-12,
                1.1,
                1.3,
                1.414,
                1.415,
                1.5,
                1.9,
                1.999_999,
            ] {
                let v = x * t;
                worst = worst.max(relative_error(v));
            }
            x *= 1.7;
        }
        for i in 1..200_000 {
            let v = i as f64 / 100_000.0;
            worst = worst.max(relative_error(v));
        }
        assert!(worst < 4.0 * f64::EPSILON, "worst relative error {worst:e}");
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(xlogx(0.0), 0.0);
        assert_eq!(xlogx(1.0), 0.0);
    }

    #[test]
    fn vector_and_portable_paths_agree_bitwise() {
        let data: Vec<f64> = (0..1000)
            .map(|i| (i as f64 * 0.37).fract() * if i % 7 == 0 { 0.0 } else { 1.0 })
            .collect();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut a = data.clone();
        let mut b = data.clone();
        xlogx_in_place(&mut a);
        xlogx_in_place_portable(&mut b);
        assert_eq!(bits(&a), bits(&b));
        #[cfg(target_arch = "x86_64")]
        for (feature, supported, run) in [
            (
                "avx2",
                std::arch::is_x86_feature_detected!("avx2"),
                xlogx_in_place_avx2 as unsafe fn(&mut [f64]),
            ),
            (
                "avx512f",
                std::arch::is_x86_feature_detected!("avx512f"),
                xlogx_in_place_avx512,
            ),
        ] {
            if supported {
                let mut c = data.clone();
                // SAFETY: the CPU supports the feature, checked just above.
                unsafe { run(&mut c) };
                assert_eq!(bits(&c), bits(&b), "{feature}");
            }
        }
        for (v, x) in a.iter().zip(&data) {
            assert_eq!(*v, xlogx(*x));
        }
    }
}
