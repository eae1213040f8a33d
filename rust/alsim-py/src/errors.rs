//! The one place where Rust errors become Python exceptions of alsim's own hierarchy
//! (`alsim.exceptions`).

use alsim_kernels::KernelError;
use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyBool;

pyo3::import_exception!(alsim.exceptions, InvalidParameterError);
pyo3::import_exception!(alsim.exceptions, InvalidInputError);
pyo3::import_exception!(alsim.exceptions, InvalidDtypeError);
pyo3::import_exception!(alsim.exceptions, KernelMemoryError);

/// Maps a kernel's refusal onto the matching exception class; the message is the kernel's. A buffer that
/// could not be allocated becomes `KernelMemoryError`, a `MemoryError`, as a failed numpy allocation does.
pub fn kernel_error(err: KernelError) -> PyErr {
    let message = err.to_string();
    match err {
        KernelError::InvalidParameter { .. } => InvalidParameterError::new_err(message),
        KernelError::InvalidInput { .. } => InvalidInputError::new_err(message),
        KernelError::OutOfMemory { .. } => KernelMemoryError::new_err(message),
    }
}

/// The value of an integer argument in `[low, high]`, or `InvalidParameterError`: for a value that is not
/// an integer (bools included; numpy integers are integers) and for any integer out of range, however
/// large (never `OverflowError`).
fn int_in(
    function: &str,
    parameter: &str,
    value: &Bound<'_, PyAny>,
    low: u64,
    high: u64,
) -> PyResult<u64> {
    let refuse = |got: String| {
        InvalidParameterError::new_err(format!(
            "The '{parameter}' parameter of {function} must be an int in [{low}, {high}]. Got {got} instead."
        ))
    };
    let integer = if value.is_instance_of::<PyBool>() {
        None
    } else {
        // `operator.index` accepts exactly the integers, Python's and numpy's.
        value
            .py()
            .import("operator")?
            .getattr("index")?
            .call1((value,))
            .ok()
    };
    let Some(integer) = integer else {
        let type_name = value
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "an unknown type".into());
        return Err(refuse(format!("an object of type {type_name}")));
    };
    // Out of u64 (negative or too large) fails the extraction; no OverflowError escapes.
    match integer.extract::<u64>() {
        Ok(v) if (low..=high).contains(&v) => Ok(v),
        _ => Err(refuse(
            integer
                .str()
                .map(|s| s.to_string())
                .unwrap_or_else(|_| "an int".into()),
        )),
    }
}

/// An integer parameter that must be at least 1 (`k`, `n_classes`) and index memory (at most
/// `isize::MAX`), checked before it becomes a `usize`.
pub fn positive(function: &str, parameter: &str, value: &Bound<'_, PyAny>) -> PyResult<usize> {
    let v = int_in(function, parameter, value, 1, isize::MAX as u64)?;
    // At most isize::MAX, which fits in usize.
    Ok(v as usize)
}

/// A 64-bit seed, in `[0, 2**64)`.
pub fn seed(function: &str, value: &Bound<'_, PyAny>) -> PyResult<u64> {
    int_in(function, "seed", value, 0, u64::MAX)
}

/// The error for an argument that is not an array of an accepted dtype and dimensionality.
pub fn unsupported_array(
    function: &str,
    parameter: &str,
    obj: &Bound<'_, PyAny>,
    ndim: usize,
    dtypes: &str,
) -> PyErr {
    let expected = format!("The '{parameter}' parameter of {function} must be a {ndim}-D numpy array of dtype {dtypes}.");
    match obj.cast::<PyUntypedArray>() {
        Ok(array) if array.ndim() != ndim => InvalidInputError::new_err(format!(
            "{expected} Got a {}-D array of shape {:?} instead.",
            array.ndim(),
            array.shape()
        )),
        Ok(array) => {
            InvalidDtypeError::new_err(format!("{expected} Got dtype {} instead.", array.dtype()))
        }
        Err(_) => {
            let type_name = obj
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "an unknown type".into());
            InvalidDtypeError::new_err(format!(
                "{expected} Got an object of type {type_name} instead."
            ))
        }
    }
}
