//! Row access over 2-D views of any memory layout.

use ndarray::ArrayView2;

/// Below this many input entries, the kernels of this crate that split work over threads (k-center,
/// k-means++, committee disagreement, the finiteness check of points) stay on the calling thread.
pub(crate) const PARALLEL_MIN_ENTRIES: usize = 1 << 16;

/// The scratch buffer of one row (`bytes` long) that [`for_each_row`] could not allocate.
pub(crate) struct NoRowScratch {
    pub(crate) bytes: u128,
}

/// Calls `f(i, row_i)` for rows `start..end` of `a`, in order, handing each row over as a contiguous
/// slice. Standard-layout arrays are read in place; rows of other layouts are gathered into a scratch
/// buffer of one row (O(columns) extra memory, allocated fallibly).
#[inline]
pub(crate) fn for_each_row<T: Copy, F: FnMut(usize, &[T])>(
    a: &ArrayView2<'_, T>,
    start: usize,
    end: usize,
    mut f: F,
) -> Result<(), NoRowScratch> {
    let cols = a.ncols();
    if let Some(all) = a.as_slice() {
        if cols == 0 {
            return Ok(());
        }
        for (offset, row) in all[start * cols..end * cols].chunks_exact(cols).enumerate() {
            f(start + offset, row);
        }
        return Ok(());
    }
    let mut scratch: Vec<T> = Vec::new();
    scratch.try_reserve_exact(cols).map_err(|_| NoRowScratch {
        bytes: cols as u128 * std::mem::size_of::<T>() as u128,
    })?;
    for i in start..end {
        let row = a.row(i);
        match row.as_slice() {
            Some(s) => f(i, s),
            None => {
                scratch.clear();
                scratch.extend(row.iter().copied());
                f(i, &scratch);
            }
        }
    }
    Ok(())
}

/// Asks the CPU to start loading every cache line that `data` touches (a hint with no effect on results).
#[inline(always)]
pub(crate) fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        const LINE: usize = 64;
        let bytes = std::mem::size_of_val(data);
        if bytes == 0 {
            return;
        }
        // From the start of the first line: rows that do not start on a line boundary touch one more.
        let skew = data.as_ptr() as usize % LINE;
        let first = data.as_ptr().cast::<i8>().wrapping_sub(skew);
        let mut offset = 0;
        while offset < skew + bytes {
            // SAFETY: a prefetch never faults and has no visible effect; the lines overlap `data`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(first.wrapping_add(offset)) };
            offset += LINE;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// Splits `0..n` into consecutive chunks of `chunk` rows (the last may be shorter).
pub(crate) fn chunk_ranges(n: usize, chunk: usize) -> Vec<(usize, usize)> {
    (0..n.div_ceil(chunk))
        .map(|c| (c * chunk, ((c + 1) * chunk).min(n)))
        .collect()
}
