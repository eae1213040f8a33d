//! Fallible allocation of every buffer whose size depends on the input.
//!
//! An infallible allocation that fails aborts the whole process (`memory allocation of N bytes failed`),
//! which for a Python extension means losing the interpreter and everything in it. Kernels therefore
//! request their outputs and input-sized scratch buffers here, and a failed request becomes
//! [`KernelError::OutOfMemory`] (a `MemoryError` in Python), as a failed numpy allocation does.
//!
//! Buffers allocated here are never grown past the capacity they were given, so later pushes and
//! extensions within that capacity cannot allocate. Allocations of a fixed size, or bounded by a small
//! fraction of a buffer already obtained here (lists of chunks), are left infallible.

use crate::error::KernelError;

/// An empty vector with room for exactly `len` elements, or [`KernelError::OutOfMemory`] naming
/// `function` and `what` (e.g. `"its output"`).
pub fn with_capacity<T>(
    function: &'static str,
    what: &'static str,
    len: usize,
) -> Result<Vec<T>, KernelError> {
    let mut buffer = Vec::new();
    reserve(&mut buffer, function, what, len)?;
    Ok(buffer)
}

/// A vector of `len` copies of `value`, allocated fallibly (see [`with_capacity`]).
pub fn filled<T: Clone>(
    function: &'static str,
    what: &'static str,
    value: T,
    len: usize,
) -> Result<Vec<T>, KernelError> {
    let mut buffer = with_capacity(function, what, len)?;
    buffer.resize(len, value);
    Ok(buffer)
}

/// The items of `items` collected into a vector allocated fallibly for exactly their number.
pub fn collect<T>(
    function: &'static str,
    what: &'static str,
    items: impl ExactSizeIterator<Item = T>,
) -> Result<Vec<T>, KernelError> {
    let mut buffer = with_capacity(function, what, items.len())?;
    buffer.extend(items);
    Ok(buffer)
}

/// Makes room in `buffer` for `additional` more elements, fallibly.
pub fn reserve<T>(
    buffer: &mut Vec<T>,
    function: &'static str,
    what: &'static str,
    additional: usize,
) -> Result<(), KernelError> {
    buffer
        .try_reserve_exact(additional)
        .map_err(|_| out_of_memory::<T>(function, what, buffer.len() as u128 + additional as u128))
}

/// The product of `factors` (an element count), or [`KernelError::OutOfMemory`] when it overflows
/// `usize`: such a buffer could never be allocated.
pub fn count<T>(
    function: &'static str,
    what: &'static str,
    factors: &[usize],
) -> Result<usize, KernelError> {
    factors
        .iter()
        .try_fold(1usize, |total, &f| total.checked_mul(f))
        .ok_or_else(|| {
            out_of_memory::<T>(
                function,
                what,
                factors.iter().map(|&f| f as u128).product::<u128>(),
            )
        })
}

/// The error of a kernel that could not allocate a copy of one row, `bytes` long.
pub(crate) fn row_copy_failed(function: &'static str, bytes: u128) -> KernelError {
    KernelError::OutOfMemory {
        function,
        what: "a copy of one row",
        bytes,
    }
}

fn out_of_memory<T>(function: &'static str, what: &'static str, elements: u128) -> KernelError {
    KernelError::OutOfMemory {
        function,
        what,
        bytes: elements.saturating_mul(std::mem::size_of::<T>() as u128),
    }
}

/// `bytes` in the largest binary unit that keeps the number at least 1, as in "12.5 GiB".
pub(crate) fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_requests_fail_with_the_function_and_size() {
        let err = with_capacity::<f64>("top_k", "its output", usize::MAX / 4).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("top_k could not allocate "),
            "{message}"
        );
        assert!(
            message.contains(&format!("{} bytes", (usize::MAX / 4) as u128 * 8)),
            "{message}"
        );
        assert!(message.contains("its output"), "{message}");
        assert_eq!(err.parameter_name(), None);
        let overflow = count::<f64>("f", "a table", &[usize::MAX, 3]).unwrap_err();
        assert!(
            matches!(overflow, KernelError::OutOfMemory { bytes, .. } if bytes == usize::MAX as u128 * 24)
        );
    }

    #[test]
    fn possible_requests_succeed_exactly() {
        let v = filled("f", "x", 7u8, 5).unwrap();
        assert_eq!(v, vec![7u8; 5]);
        assert_eq!(v.capacity(), 5);
        assert_eq!(collect("f", "x", 0..4u32).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(count::<u8>("f", "x", &[3, 4, 5]).unwrap(), 60);
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }
}
