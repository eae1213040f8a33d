//! The one place where Rust errors become Python exceptions of alsim's own hierarchy
//! (`alsim.exceptions`).

use alsim_kernels::KernelError;
use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;

pyo3::import_exception!(alsim.exceptions, InvalidParameterError);
pyo3::import_exception!(alsim.exceptions, InvalidInputError);
pyo3::import_exception!(alsim.exceptions, InvalidDtypeError);

/// Maps a kernel's refusal onto the matching exception class; the message is the kernel's.
pub fn kernel_error(err: KernelError) -> PyErr {
    let message = err.to_string();
    match err {
        KernelError::InvalidParameter { .. } => InvalidParameterError::new_err(message),
        KernelError::InvalidInput { .. } => InvalidInputError::new_err(message),
    }
}

/// An integer parameter that must be at least 1 (`k`, `n_classes`), checked before it becomes a `usize`.
pub fn positive(function: &str, parameter: &str, value: i64) -> PyResult<usize> {
    usize::try_from(value)
        .ok()
        .filter(|&v| v >= 1)
        .ok_or_else(|| {
            InvalidParameterError::new_err(format!(
            "The '{parameter}' parameter of {function} must be an int >= 1. Got {value} instead."
        ))
        })
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
