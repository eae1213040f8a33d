use thiserror::Error;

/// Why a kernel refused its input. Messages follow scikit-learn's wording: they name the function, the
/// parameter, what was expected and what was given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KernelError {
    /// A scalar parameter (k, measure, n_classes, ...) is outside its valid range or set of choices.
    #[error("The '{parameter}' parameter of {function} must be {expected}. Got {got} instead.")]
    InvalidParameter {
        function: &'static str,
        parameter: &'static str,
        expected: String,
        got: String,
    },
    /// An input array has the wrong shape or content (empty, NaN, negative probabilities, ...).
    #[error("The '{parameter}' parameter of {function} must be {expected}. Got {got} instead.")]
    InvalidInput {
        function: &'static str,
        parameter: &'static str,
        expected: String,
        got: String,
    },
    /// A buffer whose size depends on the input (the output, or scratch space) could not be allocated;
    /// `bytes` is what was asked for (saturated at `u128::MAX` when the size itself overflowed).
    #[error(
        "{function} could not allocate {bytes} bytes ({human}) for {what}. Free memory or pass a smaller input.",
        human = crate::alloc::human_bytes(*.bytes)
    )]
    OutOfMemory {
        function: &'static str,
        what: &'static str,
        bytes: u128,
    },
}

impl KernelError {
    pub(crate) fn parameter(
        function: &'static str,
        parameter: &'static str,
        expected: impl Into<String>,
        got: impl Into<String>,
    ) -> Self {
        KernelError::InvalidParameter {
            function,
            parameter,
            expected: expected.into(),
            got: got.into(),
        }
    }

    pub(crate) fn input(
        function: &'static str,
        parameter: &'static str,
        expected: impl Into<String>,
        got: impl Into<String>,
    ) -> Self {
        KernelError::InvalidInput {
            function,
            parameter,
            expected: expected.into(),
            got: got.into(),
        }
    }

    /// The name of the offending parameter (none when memory ran out).
    pub fn parameter_name(&self) -> Option<&'static str> {
        match self {
            KernelError::InvalidParameter { parameter, .. }
            | KernelError::InvalidInput { parameter, .. } => Some(parameter),
            KernelError::OutOfMemory { .. } => None,
        }
    }
}

/// Checks that the 2-D input `parameter` has no empty axis; `expected` names its axes, as in
/// `"(n_samples, n_features)"`.
pub(crate) fn check_non_empty(
    function: &'static str,
    parameter: &'static str,
    expected: &str,
    (rows, cols): (usize, usize),
) -> Result<(), KernelError> {
    if rows == 0 || cols == 0 {
        return Err(KernelError::input(
            function,
            parameter,
            format!("a non-empty 2-D array of shape {expected}"),
            format!("shape ({rows}, {cols})"),
        ));
    }
    Ok(())
}

/// Checks `1 <= k <= available`.
pub(crate) fn check_k(
    function: &'static str,
    k: usize,
    available: usize,
    what: &str,
) -> Result<(), KernelError> {
    if k == 0 || k > available {
        return Err(KernelError::parameter(
            function,
            "k",
            format!("an int in [1, {available}] ({what})"),
            k.to_string(),
        ));
    }
    Ok(())
}
