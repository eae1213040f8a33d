//! Selection kernels of alsim, in pure Rust on `ndarray` views.
//!
//! Every kernel validates its inputs and returns a [`KernelError`] instead of panicking; large inputs are
//! processed in parallel with rayon, and results never depend on the number of threads (work is split
//! into fixed-size chunks whose partial results are combined in index order).

pub mod alloc;
mod distance;
mod error;
mod fastmath;
mod real;
mod rows;

pub mod committee;
pub mod kcenter;
pub mod kmeanspp;
pub mod rng;
pub mod topk;
pub mod uncertainty;

pub use committee::{consensus_kl, pairwise_disagreement, vote_entropy};
pub use error::KernelError;
pub use kcenter::k_center_greedy;
pub use kmeanspp::kmeans_pp;
pub use real::Real;
pub use topk::top_k;
pub use uncertainty::{
    select_most_uncertain, uncertainty_scores, uncertainty_table, Measure, PROBA_SUM_TOLERANCE,
};
