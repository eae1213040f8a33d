//! `alsim._core`: a thin PyO3 layer over `alsim-kernels`.
//!
//! Each function picks the element type of its array arguments (float32/float64, or int32/int64 votes),
//! borrows them as read-only views without copying (any memory layout), releases the GIL while the
//! kernel runs and hands the result back as a new numpy array (float64 scores, int64 indices). Kernel
//! errors become alsim exceptions in `errors.rs`; no code path here can panic on user input.

mod errors;

use alsim_kernels as kernels;
use alsim_kernels::Measure;
use errors::{kernel_error, positive, seed as seed_u64, unsupported_array};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArray3, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2,
    PyReadonlyArray3,
};
use pyo3::prelude::*;

enum Float1<'py> {
    F32(PyReadonlyArray1<'py, f32>),
    F64(PyReadonlyArray1<'py, f64>),
}

enum Float2<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

enum Float3<'py> {
    F32(PyReadonlyArray3<'py, f32>),
    F64(PyReadonlyArray3<'py, f64>),
}

enum Int2<'py> {
    I32(PyReadonlyArray2<'py, i32>),
    I64(PyReadonlyArray2<'py, i64>),
}

const FLOATS: &str = "float32 or float64";

fn float1<'py>(obj: &Bound<'py, PyAny>, function: &str, parameter: &str) -> PyResult<Float1<'py>> {
    if let Ok(a) = obj.cast::<PyArray1<f64>>() {
        return Ok(Float1::F64(a.readonly()));
    }
    if let Ok(a) = obj.cast::<PyArray1<f32>>() {
        return Ok(Float1::F32(a.readonly()));
    }
    Err(unsupported_array(function, parameter, obj, 1, FLOATS))
}

fn float2<'py>(obj: &Bound<'py, PyAny>, function: &str, parameter: &str) -> PyResult<Float2<'py>> {
    if let Ok(a) = obj.cast::<PyArray2<f64>>() {
        return Ok(Float2::F64(a.readonly()));
    }
    if let Ok(a) = obj.cast::<PyArray2<f32>>() {
        return Ok(Float2::F32(a.readonly()));
    }
    Err(unsupported_array(function, parameter, obj, 2, FLOATS))
}

fn float3<'py>(obj: &Bound<'py, PyAny>, function: &str, parameter: &str) -> PyResult<Float3<'py>> {
    if let Ok(a) = obj.cast::<PyArray3<f64>>() {
        return Ok(Float3::F64(a.readonly()));
    }
    if let Ok(a) = obj.cast::<PyArray3<f32>>() {
        return Ok(Float3::F32(a.readonly()));
    }
    Err(unsupported_array(function, parameter, obj, 3, FLOATS))
}

fn int2<'py>(obj: &Bound<'py, PyAny>, function: &str, parameter: &str) -> PyResult<Int2<'py>> {
    if let Ok(a) = obj.cast::<PyArray2<i64>>() {
        return Ok(Int2::I64(a.readonly()));
    }
    if let Ok(a) = obj.cast::<PyArray2<i32>>() {
        return Ok(Int2::I32(a.readonly()));
    }
    Err(unsupported_array(
        function,
        parameter,
        obj,
        2,
        "int32 or int64",
    ))
}

fn scores_out(
    py: Python<'_>,
    result: Result<Vec<f64>, kernels::KernelError>,
) -> PyResult<Bound<'_, PyArray1<f64>>> {
    result.map(|v| v.into_pyarray(py)).map_err(kernel_error)
}

fn indices_out<'py>(
    py: Python<'py>,
    function: &'static str,
    result: Result<Vec<usize>, kernels::KernelError>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    // Indices address rows of an in-memory array, so they always fit in i64.
    let indices = result.map_err(kernel_error)?;
    let converted = kernels::alloc::collect(
        function,
        "its output",
        indices.into_iter().map(|i| i as i64),
    )
    .map_err(kernel_error)?;
    Ok(converted.into_pyarray(py))
}

/// A contiguous copy of a non-contiguous 1-D input, allocated fallibly.
fn contiguous_copy<T>(
    function: &'static str,
    values: impl ExactSizeIterator<Item = T>,
) -> Result<Vec<T>, kernels::KernelError> {
    kernels::alloc::collect(function, "a contiguous copy of its input", values)
}

/// Uncertainty score of every row of `proba`.
#[pyfunction]
fn uncertainty_scores<'py>(
    py: Python<'py>,
    proba: &Bound<'py, PyAny>,
    measure: &str,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    const F: &str = "uncertainty_scores";
    let measure = Measure::parse(measure, F, "measure").map_err(kernel_error)?;
    let result = match float2(proba, F, "proba")? {
        Float2::F32(a) => {
            let v = a.as_array();
            py.detach(|| kernels::uncertainty_scores(v, measure))
        }
        Float2::F64(a) => {
            let v = a.as_array();
            py.detach(|| kernels::uncertainty_scores(v, measure))
        }
    };
    scores_out(py, result)
}

/// Several uncertainty scores of every row of `proba` from one validation pass, shape
/// `(n_samples, len(measures))`.
#[pyfunction]
fn uncertainty_table<'py>(
    py: Python<'py>,
    proba: &Bound<'py, PyAny>,
    measures: Vec<String>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    const F: &str = "uncertainty_table";
    let measures = measures
        .iter()
        .map(|name| Measure::parse(name, F, "measures"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(kernel_error)?;
    let (result, rows) = match float2(proba, F, "proba")? {
        Float2::F32(a) => {
            let v = a.as_array();
            (
                py.detach(|| kernels::uncertainty_table(v, &measures)),
                v.nrows(),
            )
        }
        Float2::F64(a) => {
            let v = a.as_array();
            (
                py.detach(|| kernels::uncertainty_table(v, &measures)),
                v.nrows(),
            )
        }
    };
    let table = result.map_err(kernel_error)?;
    PyArray1::from_vec(py, table).reshape([rows, measures.len()])
}

/// Indices of the `k` highest scores, highest first, ties to the lower index.
#[pyfunction]
fn top_k<'py>(
    py: Python<'py>,
    scores: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    const F: &str = "top_k";
    let k = positive(F, "k", k)?;
    let result = match float1(scores, F, "scores")? {
        Float1::F32(a) => {
            let v = a.as_array();
            py.detach(|| match v.as_slice() {
                Some(s) => kernels::top_k(s, k),
                None => contiguous_copy(F, v.iter().copied()).and_then(|c| kernels::top_k(&c, k)),
            })
        }
        Float1::F64(a) => {
            let v = a.as_array();
            py.detach(|| match v.as_slice() {
                Some(s) => kernels::top_k(s, k),
                None => contiguous_copy(F, v.iter().copied()).and_then(|c| kernels::top_k(&c, k)),
            })
        }
    };
    indices_out(py, F, result)
}

/// Indices of the `k` most uncertain rows of `proba`, most uncertain first.
#[pyfunction]
fn select_most_uncertain<'py>(
    py: Python<'py>,
    proba: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    measure: &str,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    const F: &str = "select_most_uncertain";
    let measure = Measure::parse(measure, F, "measure").map_err(kernel_error)?;
    let k = positive(F, "k", k)?;
    let result = match float2(proba, F, "proba")? {
        Float2::F32(a) => {
            let v = a.as_array();
            py.detach(|| kernels::select_most_uncertain(v, k, measure))
        }
        Float2::F64(a) => {
            let v = a.as_array();
            py.detach(|| kernels::select_most_uncertain(v, k, measure))
        }
    };
    indices_out(py, F, result)
}

/// Greedy k-center picks, in pick order.
#[pyfunction]
#[pyo3(name = "k_center_greedy", signature = (X, labeled, k, seed))]
#[allow(non_snake_case)]
fn k_center_greedy<'py>(
    py: Python<'py>,
    X: &Bound<'py, PyAny>,
    labeled: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    seed: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    const F: &str = "k_center_greedy";
    let k = positive(F, "k", k)?;
    let seed = seed_u64(F, seed)?;
    let labeled = match labeled.cast::<PyArray1<i64>>() {
        Ok(a) => {
            contiguous_copy(F, a.readonly().as_array().iter().copied()).map_err(kernel_error)?
        }
        Err(_) => return Err(unsupported_array(F, "labeled", labeled, 1, "int64")),
    };
    let result = match float2(X, F, "X")? {
        Float2::F32(a) => {
            let v = a.as_array();
            py.detach(|| kernels::k_center_greedy(v, &labeled, k, seed))
        }
        Float2::F64(a) => {
            let v = a.as_array();
            py.detach(|| kernels::k_center_greedy(v, &labeled, k, seed))
        }
    };
    indices_out(py, F, result)
}

/// Vote entropy per example from member votes (`M x n`).
#[pyfunction]
fn vote_entropy<'py>(
    py: Python<'py>,
    votes: &Bound<'py, PyAny>,
    n_classes: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    const F: &str = "vote_entropy";
    let n_classes = positive(F, "n_classes", n_classes)?;
    let result = match int2(votes, F, "votes")? {
        Int2::I32(a) => {
            let v = a.as_array();
            py.detach(|| kernels::vote_entropy(v, n_classes))
        }
        Int2::I64(a) => {
            let v = a.as_array();
            py.detach(|| kernels::vote_entropy(v, n_classes))
        }
    };
    scores_out(py, result)
}

/// Mean KL divergence of each member to the consensus, per example (`M x n x c` input).
#[pyfunction]
fn consensus_kl<'py>(
    py: Python<'py>,
    member_proba: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    const F: &str = "consensus_kl";
    let result = match float3(member_proba, F, "member_proba")? {
        Float3::F32(a) => {
            let v = a.as_array();
            py.detach(|| kernels::consensus_kl(v))
        }
        Float3::F64(a) => {
            let v = a.as_array();
            py.detach(|| kernels::consensus_kl(v))
        }
    };
    scores_out(py, result)
}

/// Fraction of member pairs that disagree, per example (`M x n` votes).
#[pyfunction]
fn pairwise_disagreement<'py>(
    py: Python<'py>,
    votes: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    const F: &str = "pairwise_disagreement";
    let result = match int2(votes, F, "votes")? {
        Int2::I32(a) => {
            let v = a.as_array();
            py.detach(|| kernels::pairwise_disagreement(v))
        }
        Int2::I64(a) => {
            let v = a.as_array();
            py.detach(|| kernels::pairwise_disagreement(v))
        }
    };
    scores_out(py, result)
}

/// k-means++ seeding by D-squared sampling.
#[pyfunction]
#[pyo3(name = "kmeans_pp", signature = (X, k, seed))]
#[allow(non_snake_case)]
fn kmeans_pp<'py>(
    py: Python<'py>,
    X: &Bound<'py, PyAny>,
    k: &Bound<'py, PyAny>,
    seed: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    const F: &str = "kmeans_pp";
    let k = positive(F, "k", k)?;
    let seed = seed_u64(F, seed)?;
    let result = match float2(X, F, "X")? {
        Float2::F32(a) => {
            let v = a.as_array();
            py.detach(|| kernels::kmeans_pp(v, k, seed))
        }
        Float2::F64(a) => {
            let v = a.as_array();
            py.detach(|| kernels::kmeans_pp(v, k, seed))
        }
    };
    indices_out(py, F, result)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("PROBA_SUM_TOLERANCE", kernels::PROBA_SUM_TOLERANCE)?;
    m.add("MEASURES", Measure::NAMES.to_vec())?;
    m.add_function(wrap_pyfunction!(uncertainty_scores, m)?)?;
    m.add_function(wrap_pyfunction!(uncertainty_table, m)?)?;
    m.add_function(wrap_pyfunction!(top_k, m)?)?;
    m.add_function(wrap_pyfunction!(select_most_uncertain, m)?)?;
    m.add_function(wrap_pyfunction!(k_center_greedy, m)?)?;
    m.add_function(wrap_pyfunction!(vote_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(consensus_kl, m)?)?;
    m.add_function(wrap_pyfunction!(pairwise_disagreement, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans_pp, m)?)?;
    Ok(())
}
