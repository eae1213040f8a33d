use std::fmt::Debug;
use std::ops::{Add, Mul, Sub};

/// The floating-point element types the kernels accept (`f32` and `f64`).
pub trait Real:
    Copy
    + Send
    + Sync
    + PartialOrd
    + Debug
    + Default
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
{
    const ZERO: Self;
    const INFINITY: Self;
    /// Unit roundoff (half the machine epsilon) of the type, used to size safety margins of pruning tests.
    const UNIT_ROUNDOFF: f64;
    /// The smallest positive normal value of the type, as `f64` (bounds the error that underflow adds).
    const MIN_POSITIVE: f64;
    fn to_f64(self) -> f64;
    fn is_finite(self) -> bool;
}

macro_rules! impl_real {
    ($t:ty) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const INFINITY: Self = <$t>::INFINITY;
            const UNIT_ROUNDOFF: f64 = <$t>::EPSILON as f64 / 2.0;
            const MIN_POSITIVE: f64 = <$t>::MIN_POSITIVE as f64;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
    };
}

impl_real!(f32);
impl_real!(f64);
