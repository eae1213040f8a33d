//! Hand-computed cases, edge cases and reference comparisons for every kernel.

use alsim_kernels::*;
use ndarray::{array, Array2, Array3, ShapeBuilder};

const LN2: f64 = std::f64::consts::LN_2;

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
    }
}

/// A small deterministic generator for test data (splitmix64).
struct Data(u64);

impl Data {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn proba(&mut self, n: usize, c: usize) -> Array2<f64> {
        let mut p = Array2::from_shape_fn((n, c), |_| self.next().powi(3));
        for mut row in p.rows_mut() {
            let s: f64 = row.sum();
            row.mapv_inplace(|v| v / s);
        }
        p
    }

    fn blobs(&mut self, n: usize, d: usize) -> Array2<f64> {
        Array2::from_shape_fn((n, d), |(i, _)| (i % 7) as f64 * 3.0 + self.next())
    }
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(f)
}

#[test]
fn uncertainty_hand_computed() {
    let p = array![[0.7, 0.2, 0.1], [0.4, 0.4, 0.2]];
    close(
        &uncertainty_scores(p.view(), Measure::LeastConfidence).unwrap(),
        &[0.3, 0.6],
    );
    close(
        &uncertainty_scores(p.view(), Measure::Margin).unwrap(),
        &[0.5, 1.0],
    );
    let h0 = -(0.7f64 * 0.7f64.ln() + 0.2 * 0.2f64.ln() + 0.1 * 0.1f64.ln());
    let h1 = -(2.0 * 0.4 * 0.4f64.ln() + 0.2 * 0.2f64.ln());
    close(
        &uncertainty_scores(p.view(), Measure::Entropy).unwrap(),
        &[h0, h1],
    );
}

#[test]
fn uncertainty_edge_rows() {
    // n = 1, c = 2, uniform row.
    let p = array![[0.5, 0.5]];
    close(
        &uncertainty_scores(p.view(), Measure::LeastConfidence).unwrap(),
        &[0.5],
    );
    close(
        &uncertainty_scores(p.view(), Measure::Margin).unwrap(),
        &[1.0],
    );
    close(
        &uncertainty_scores(p.view(), Measure::Entropy).unwrap(),
        &[LN2],
    );
    // One-hot rows score 0 (and +0.0, not -0.0) under every measure.
    let onehot = array![[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]];
    for m in [Measure::LeastConfidence, Measure::Margin, Measure::Entropy] {
        let s = uncertainty_scores(onehot.view(), m).unwrap();
        assert!(
            s.iter().all(|v| *v == 0.0 && v.is_sign_positive()),
            "{m:?}: {s:?}"
        );
    }
    // Uniform over four classes.
    let u = Array2::from_elem((3, 4), 0.25f32);
    close(
        &uncertainty_scores(u.view(), Measure::LeastConfidence).unwrap(),
        &[0.75; 3],
    );
    close(
        &uncertainty_scores(u.view(), Measure::Margin).unwrap(),
        &[1.0; 3],
    );
    let h = uncertainty_scores(u.view(), Measure::Entropy).unwrap();
    assert!(h.iter().all(|v| (v - 4f64.ln()).abs() < 1e-6));
    // A single column: the second probability counts as 0.
    let single = array![[1.0], [1.0]];
    close(
        &uncertainty_scores(single.view(), Measure::Margin).unwrap(),
        &[0.0, 0.0],
    );
}

#[test]
fn uncertainty_rejects_bad_rows_naming_the_first() {
    let cases: Vec<(Array2<f64>, &str)> = vec![
        (array![[0.5, 0.5], [f64::NAN, 1.0]], "row 1"),
        (
            array![[0.5, 0.5], [0.5, 0.5], [f64::INFINITY, 0.0]],
            "row 2",
        ),
        (array![[1.2, -0.2], [0.5, 0.5]], "row 0"),
        (array![[0.5, 0.5], [0.6, 0.6], [0.9, 0.9]], "row 1"),
    ];
    for (p, row) in cases {
        for m in [Measure::LeastConfidence, Measure::Margin, Measure::Entropy] {
            let err = uncertainty_scores(p.view(), m).unwrap_err();
            assert!(
                matches!(
                    err,
                    KernelError::InvalidInput {
                        parameter: "proba",
                        ..
                    }
                ),
                "{err}"
            );
            assert!(err.to_string().contains(row), "{err}");
            let err = select_most_uncertain(p.view(), 1, m).unwrap_err();
            assert!(err.to_string().contains(row), "{err}");
        }
    }
    // A deviation within the tolerance is accepted.
    assert!(uncertainty_scores(
        array![[0.5, 0.5 + 0.5 * PROBA_SUM_TOLERANCE]].view(),
        Measure::Entropy
    )
    .is_ok());
    let empty = Array2::<f64>::zeros((0, 3));
    assert!(uncertainty_scores(empty.view(), Measure::Margin).is_err());
    let no_classes = Array2::<f64>::zeros((3, 0));
    assert!(select_most_uncertain(no_classes.view(), 1, Measure::Margin).is_err());
}

#[test]
fn measure_names_parse() {
    for name in Measure::NAMES {
        assert!(Measure::parse(name, "f", "measure").is_ok());
    }
    let err = Measure::parse("entropie", "f", "measure").unwrap_err();
    assert_eq!(err.parameter_name(), Some("measure"));
    assert!(err.to_string().contains("'margin'"));
}

#[test]
fn top_k_orders_and_breaks_ties_low() {
    assert_eq!(top_k(&[0.1, 0.9, 0.5, 0.9], 3).unwrap(), vec![1, 3, 2]);
    assert_eq!(top_k(&[1.0f32; 5], 3).unwrap(), vec![0, 1, 2]);
    assert_eq!(top_k(&[2.0], 1).unwrap(), vec![0]);
    assert_eq!(top_k(&[0.0, -0.0, 0.0], 2).unwrap(), vec![0, 1]);
    assert_eq!(
        top_k(&[3.0, f64::INFINITY, f64::NEG_INFINITY], 3).unwrap(),
        vec![1, 0, 2]
    );
    assert!(matches!(
        top_k(&[1.0, 2.0], 0),
        Err(KernelError::InvalidParameter { parameter: "k", .. })
    ));
    assert!(matches!(
        top_k(&[1.0, 2.0], 3),
        Err(KernelError::InvalidParameter { parameter: "k", .. })
    ));
    assert!(top_k(&[1.0, f64::NAN], 1)
        .unwrap_err()
        .to_string()
        .contains("index 1"));
    assert!(top_k::<f64>(&[], 1).is_err());
}

#[test]
fn top_k_at_scale_equals_a_full_sort() {
    let reference = |scores: &[f64], k: usize| {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap().then(a.cmp(&b)));
        order.truncate(k);
        order
    };
    let n = 50_000;
    let step = n / 1024;
    let mut data = Data(5);
    let patterns: Vec<Vec<f64>> = vec![
        (0..n).map(|_| data.next()).collect(),
        (0..n).map(|i| i as f64).collect(),
        (0..n).map(|i| (i % 3) as f64).collect(),
        // The strided sample sees only the high values: with k above their count the cutoff is too high.
        (0..n)
            .map(|i| if i % step == 0 { 1.0 } else { 0.0 } + (i % 11) as f64 * 1e-4)
            .collect(),
        (0..n)
            .map(|i| if i % 2 == 0 { -0.0 } else { 0.0 })
            .collect(),
    ];
    for scores in &patterns {
        for k in [1, 9, 1_500, 3_000] {
            assert_eq!(top_k(scores, k).unwrap(), reference(scores, k), "k={k}");
        }
    }
}

#[test]
fn fused_selection_equals_scores_then_top_k() {
    let mut data = Data(7);
    for &(n, c, k) in &[(1, 2, 1), (50, 3, 50), (1000, 10, 17), (70_000, 4, 100)] {
        let mut p = data.proba(n, c);
        // Duplicate rows create exact ties.
        if n > 10 {
            let row = p.row(3).to_owned();
            p.row_mut(n - 1).assign(&row);
        }
        for m in [Measure::LeastConfidence, Measure::Margin, Measure::Entropy] {
            let scores = uncertainty_scores(p.view(), m).unwrap();
            let expected = top_k(&scores, k).unwrap();
            assert_eq!(select_most_uncertain(p.view(), k, m).unwrap(), expected);
            // F-ordered copy and a strided view give the same answer.
            let f = {
                let mut f = Array2::<f64>::zeros((n, c).f());
                f.assign(&p);
                f
            };
            assert_eq!(select_most_uncertain(f.view(), k, m).unwrap(), expected);
            assert_eq!(uncertainty_scores(f.view(), m).unwrap(), scores);
        }
    }
    let mut wide = Array2::<f64>::zeros((40, 6));
    let p = data.proba(40, 3);
    for j in 0..3 {
        wide.column_mut(2 * j).assign(&p.column(j));
    }
    let strided = wide.slice(ndarray::s![.., ..;2]);
    assert_eq!(
        select_most_uncertain(strided, 5, Measure::Entropy).unwrap(),
        select_most_uncertain(p.view(), 5, Measure::Entropy).unwrap()
    );
}

#[test]
fn uncertainty_table_columns_equal_single_measure_scores() {
    use Measure::*;
    let mut data = Data(11);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for &(n, c) in &[(1, 1), (1, 2), (37, 3), (9000, 7)] {
        let p = data.proba(n, c);
        let mut f = Array2::<f64>::zeros((n, c).f());
        f.assign(&p);
        for measures in [
            vec![LeastConfidence, Margin, Entropy],
            vec![Entropy],
            vec![Margin, LeastConfidence, Margin],
        ] {
            let m = measures.len();
            for view in [p.view(), f.view()] {
                let table = uncertainty_table(view, &measures).unwrap();
                assert_eq!(table.len(), n * m);
                for (j, &measure) in measures.iter().enumerate() {
                    let column: Vec<f64> = (0..n).map(|i| table[i * m + j]).collect();
                    let scores = uncertainty_scores(p.view(), measure).unwrap();
                    assert_eq!(bits(&column), bits(&scores), "{measure:?} n={n} c={c}");
                }
            }
        }
    }
    let mut bad = data.proba(20, 3);
    bad[[13, 0]] += 0.5;
    let err = uncertainty_table(bad.view(), &[LeastConfidence]).unwrap_err();
    assert!(err.to_string().contains("row 13"), "{err}");
    assert_eq!(err.parameter_name(), Some("proba"));
    let err = uncertainty_table(data.proba(3, 2).view(), &[]).unwrap_err();
    assert_eq!(err.parameter_name(), Some("measures"));
}

/// Farthest-first traversal the textbook way: a full minimum-distance vector, updated every step.
fn textbook_k_center(
    x: &Array2<f64>,
    labeled: &[usize],
    k: usize,
    first: Option<usize>,
) -> Vec<usize> {
    let n = x.nrows();
    let mut min = vec![f64::INFINITY; n];
    let mut taken = vec![false; n];
    let mut picks = Vec::new();
    let add = |c: usize, min: &mut Vec<f64>, taken: &mut Vec<bool>| {
        taken[c] = true;
        for (i, m) in min.iter_mut().enumerate() {
            let d: f64 = x
                .row(i)
                .iter()
                .zip(x.row(c).iter())
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            *m = m.min(d);
        }
    };
    for &l in labeled {
        add(l, &mut min, &mut taken);
    }
    if let Some(f) = first {
        picks.push(f);
        add(f, &mut min, &mut taken);
    }
    while picks.len() < k {
        let mut best: Option<usize> = None;
        for i in 0..n {
            if !taken[i] && best.is_none_or(|b| min[i] > min[b]) {
                best = Some(i);
            }
        }
        let b = best.unwrap();
        picks.push(b);
        add(b, &mut min, &mut taken);
    }
    picks
}

#[test]
fn k_center_hand_computed() {
    let x = array![[0.0], [1.0], [5.0], [10.0]];
    assert_eq!(k_center_greedy(x.view(), &[0], 2, 0).unwrap(), vec![3, 2]);
    assert_eq!(
        k_center_greedy(x.view(), &[0], 3, 0).unwrap(),
        vec![3, 2, 1]
    );
    assert_eq!(k_center_greedy(x.view(), &[3, 0], 1, 0).unwrap(), vec![2]);
}

#[test]
fn k_center_duplicates_and_ties() {
    // Points coinciding with a center have distance 0 and are picked last, lowest index first.
    let x = array![[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0]];
    assert_eq!(
        k_center_greedy(x.view(), &[0], 3, 0).unwrap(),
        vec![3, 1, 2]
    );
    let same = Array2::<f32>::zeros((5, 3));
    assert_eq!(
        k_center_greedy(same.view(), &[2], 4, 0).unwrap(),
        vec![0, 1, 3, 4]
    );
    // n = 1, nothing labelled: the seed picks the only point.
    assert_eq!(
        k_center_greedy(array![[1.0, 2.0]].view(), &[], 1, 99).unwrap(),
        vec![0]
    );
}

#[test]
fn k_center_validation() {
    let x = array![[0.0], [1.0], [2.0]];
    let err = k_center_greedy(x.view(), &[0, 1, 2], 1, 0).unwrap_err();
    assert_eq!(err.parameter_name(), Some("k"));
    assert!(k_center_greedy(x.view(), &[0, 0], 1, 0)
        .unwrap_err()
        .to_string()
        .contains("repeated"));
    assert!(k_center_greedy(x.view(), &[3], 1, 0)
        .unwrap_err()
        .to_string()
        .contains("[0, 3)"));
    assert!(k_center_greedy(x.view(), &[-1], 1, 0).is_err());
    assert!(k_center_greedy(x.view(), &[0], 3, 0).is_err());
    assert!(k_center_greedy(array![[0.0], [f64::NAN]].view(), &[], 1, 0)
        .unwrap_err()
        .to_string()
        .contains("row 1"));
    assert!(k_center_greedy(Array2::<f64>::zeros((0, 2)).view(), &[], 1, 0).is_err());
}

#[test]
fn k_center_matches_textbook() {
    let mut data = Data(11);
    for &(n, d, n_lab, k) in &[
        (200, 3, 0, 30),
        (500, 5, 10, 100),
        (3000, 8, 40, 300),
        (900, 2, 1, 899),
        // More labelled points than the first pass takes (the rest are added as centers one by one),
        // small enough for one thread and large enough for several.
        (3000, 8, 400, 200),
        (10_000, 8, 300, 100),
    ] {
        let x = data.blobs(n, d);
        let labeled: Vec<usize> = (0..n_lab).map(|i| (i * 37 + 5) % n).collect();
        let labeled_i64: Vec<i64> = labeled.iter().map(|&i| i as i64).collect();
        let picks = k_center_greedy(x.view(), &labeled_i64, k, 5).unwrap();
        let first = if n_lab == 0 { Some(picks[0]) } else { None };
        assert_eq!(
            picks,
            textbook_k_center(&x, &labeled, k, first),
            "n={n} d={d}"
        );
        // Any memory layout gives the same picks.
        let mut f = Array2::<f64>::zeros((n, d).f());
        f.assign(&x);
        assert_eq!(
            k_center_greedy(f.view(), &labeled_i64, k, 5).unwrap(),
            picks
        );
    }
}

#[test]
fn k_center_without_cluster_structure_matches_textbook() {
    // Uniform noise in 24 dimensions prunes almost nothing, so the updates stream over all points.
    let mut data = Data(12);
    for &(n, n_lab, k) in &[(4000, 0, 150), (6000, 30, 120)] {
        let x = Array2::from_shape_fn((n, 24), |_| data.next());
        let labeled: Vec<usize> = (0..n_lab).map(|i| (i * 53 + 11) % n).collect();
        let labeled_i64: Vec<i64> = labeled.iter().map(|&i| i as i64).collect();
        let picks = k_center_greedy(x.view(), &labeled_i64, k, 9).unwrap();
        let first = if n_lab == 0 { Some(picks[0]) } else { None };
        assert_eq!(picks, textbook_k_center(&x, &labeled, k, first), "n={n}");
    }
}

#[test]
fn k_center_seeded_first_pick() {
    let x = Data(3).blobs(100, 2);
    let a = k_center_greedy(x.view(), &[], 5, 42).unwrap();
    assert_eq!(a, k_center_greedy(x.view(), &[], 5, 42).unwrap());
    let firsts: std::collections::HashSet<usize> = (0..20)
        .map(|s| k_center_greedy(x.view(), &[], 1, s).unwrap()[0])
        .collect();
    assert!(firsts.len() > 5);
}

#[test]
fn pairwise_disagreement_matches_the_definition_for_small_and_large_committees() {
    // The definition, counted pair by pair: 1 - (agreeing pairs) / (all pairs).
    let definition = |votes: &Array2<i64>| -> Vec<u64> {
        let (m, n) = votes.dim();
        let pairs = (m * (m - 1) / 2) as f64;
        (0..n)
            .map(|e| {
                let mut agreeing = 0usize;
                for i in 0..m {
                    for j in i + 1..m {
                        agreeing += usize::from(votes[[i, e]] == votes[[j, e]]);
                    }
                }
                (1.0 - agreeing as f64 / pairs).to_bits()
            })
            .collect()
    };
    let bits = |v: Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    // 2 to 32 members compare vote rows pairwise, 33 and 40 sort each example's votes; 5,000 examples
    // span several blocks, and the F-ordered copy is staged block by block.
    for m in [2usize, 7, 32, 33, 40] {
        let votes =
            Array2::from_shape_fn((m, 5_000), |(i, e)| ((i * 7 + e * 13 + i * e) % 5) as i64);
        let expected = definition(&votes);
        let mut f = Array2::<i64>::zeros((m, 5_000).f());
        f.assign(&votes);
        assert_eq!(
            bits(pairwise_disagreement(votes.view()).unwrap()),
            expected,
            "m={m}"
        );
        assert_eq!(
            bits(pairwise_disagreement(f.view()).unwrap()),
            expected,
            "m={m}, F order"
        );
        let votes32 = votes.mapv(|v| v as i32);
        assert_eq!(
            bits(pairwise_disagreement(votes32.view()).unwrap()),
            expected,
            "m={m}, i32"
        );
    }
}

#[test]
fn committee_hand_computed() {
    let votes = array![[0i64, 1, 2], [0, 0, 1], [0, 1, 0]];
    let h = vote_entropy(votes.view(), 3).unwrap();
    let two_one = -(2.0 / 3.0 * (2.0f64 / 3.0).ln() + 1.0 / 3.0 * (1.0f64 / 3.0).ln());
    close(&h, &[0.0, two_one, 3f64.ln()]);
    close(
        &pairwise_disagreement(votes.view()).unwrap(),
        &[0.0, 2.0 / 3.0, 1.0],
    );
    let votes32 = votes.mapv(|v| v as i32);
    close(&vote_entropy(votes32.view(), 3).unwrap(), &h);
    // A single member: no disagreement possible, but no pairs to count either.
    close(
        &vote_entropy(array![[1i64, 0]].view(), 2).unwrap(),
        &[0.0, 0.0],
    );
    assert!(pairwise_disagreement(array![[1i64, 0]].view()).is_err());
    let err = vote_entropy(votes.view(), 2).unwrap_err();
    assert!(err.to_string().contains("member 0, sample 2"), "{err}");
    assert!(vote_entropy(array![[-1i64]].view(), 2).is_err());
    assert!(vote_entropy(votes.view(), 0).is_err());
    // Any integer labels are fine for pairwise disagreement.
    close(
        &pairwise_disagreement(array![[-5i64], [-5], [1_000_000]].view()).unwrap(),
        &[2.0 / 3.0],
    );
}

#[test]
fn consensus_kl_hand_computed() {
    let mp =
        Array3::from_shape_vec((2, 2, 2), vec![1.0, 0.0, 0.5, 0.5, 0.0, 1.0, 0.5, 0.5]).unwrap();
    close(&consensus_kl(mp.view()).unwrap(), &[LN2, 0.0]);
    let one = Array3::from_shape_vec((1, 1, 3), vec![0.2f32, 0.3, 0.5]).unwrap();
    close(&consensus_kl(one.view()).unwrap(), &[0.0]);
    let bad = Array3::from_shape_vec((2, 1, 2), vec![0.5, 0.5, 0.9, 0.3]).unwrap();
    let err = consensus_kl(bad.view()).unwrap_err();
    assert!(err.to_string().contains("member 1, row 0"), "{err}");
}

#[test]
fn consensus_kl_matches_definition() {
    let mut data = Data(5);
    let (m, n, c) = (4, 300, 5);
    let mut mp = Array3::<f64>::zeros((m, n, c));
    for member in 0..m {
        mp.index_axis_mut(ndarray::Axis(0), member)
            .assign(&data.proba(n, c));
    }
    let got = consensus_kl(mp.view()).unwrap();
    for i in 0..n {
        let mean: Vec<f64> = (0..c)
            .map(|j| (0..m).map(|a| mp[[a, i, j]]).sum::<f64>() / m as f64)
            .collect();
        let kl: f64 = (0..m)
            .map(|a| {
                (0..c)
                    .map(|j| mp[[a, i, j]] * (mp[[a, i, j]] / mean[j]).ln())
                    .sum::<f64>()
            })
            .sum::<f64>()
            / m as f64;
        assert!((got[i] - kl).abs() < 1e-12);
    }
}

#[test]
fn kmeans_pp_draws_distinct_points() {
    let x = Data(9).blobs(500, 3);
    let a = kmeans_pp(x.view(), 20, 1).unwrap();
    assert_eq!(a, kmeans_pp(x.view(), 20, 1).unwrap());
    assert_ne!(a, kmeans_pp(x.view(), 20, 2).unwrap());
    let mut sorted = a.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 20);
    // All points identical: still k distinct indices.
    let same = Array2::<f32>::ones((6, 2));
    let mut picks = kmeans_pp(same.view(), 6, 0).unwrap();
    picks.sort_unstable();
    assert_eq!(picks, vec![0, 1, 2, 3, 4, 5]);
    // Two far-apart groups: the second center comes from the other group.
    let two = array![[0.0, 0.0], [0.0, 0.1], [100.0, 0.0], [100.0, 0.1]];
    for seed in 0..10 {
        let p = kmeans_pp(two.view(), 2, seed).unwrap();
        assert_ne!(p[0] / 2, p[1] / 2);
    }
    assert!(kmeans_pp(two.view(), 5, 0).is_err());
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let mut data = Data(21);
    let p = data.proba(120_000, 6);
    let x = data.blobs(20_000, 16);
    let x32 = x.mapv(|v| v as f32);
    // No cluster structure: the k-center updates stream over all points after a few picks.
    let uniform = Array2::from_shape_fn((6000, 24), |_| data.next() as f32);
    let votes = Array2::from_shape_fn((7, 50_000), |(a, i)| ((a * 31 + i * 17) % 5) as i64);
    let mut mp = Array3::<f64>::zeros((3, 40_000, 6));
    for member in 0..3 {
        mp.index_axis_mut(ndarray::Axis(0), member)
            .assign(&data.proba(40_000, 6));
    }
    let run = || {
        (
            uncertainty_scores(p.view(), Measure::Entropy).unwrap(),
            uncertainty_table(p.view(), &[Measure::Margin, Measure::Entropy]).unwrap(),
            select_most_uncertain(p.view(), 50, Measure::Margin).unwrap(),
            k_center_greedy(x.view(), &[1, 2, 3], 40, 0).unwrap(),
            k_center_greedy(x32.view(), &[], 40, 3).unwrap(),
            k_center_greedy(uniform.view(), &[5], 100, 0).unwrap(),
            kmeans_pp(x.view(), 30, 4).unwrap(),
            vote_entropy(votes.view(), 5).unwrap(),
            pairwise_disagreement(votes.view()).unwrap(),
            consensus_kl(mp.view()).unwrap(),
        )
    };
    let one = in_pool(1, run);
    let two = in_pool(2, run);
    let four = in_pool(4, run);
    assert_eq!(
        one.0.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        two.0.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(format!("{one:?}"), format!("{two:?}"));
    assert_eq!(format!("{one:?}"), format!("{four:?}"));
}

#[test]
fn vote_entropy_with_many_classes_counts_by_sorting() {
    // Labels below 40,000 with repeats: both counting methods must give identical entropies.
    let votes = Array2::from_shape_fn((6, 300), |(a, i)| {
        ((a % 3) * 7_919 + i * 104_729) as i64 % 40_000
    });
    assert_eq!(
        vote_entropy(votes.view(), 1 << 40).unwrap(),
        vote_entropy(votes.view(), 40_000).unwrap()
    );
    let counted = vote_entropy(votes.mapv(|v| v % 100).view(), 100).unwrap();
    assert_eq!(
        counted,
        vote_entropy(votes.mapv(|v| v % 100).view(), 1 << 20).unwrap()
    );
    assert!(vote_entropy(array![[5i64]].view(), 1 << 40).is_ok());
    assert!(vote_entropy(array![[-5i64]].view(), 1 << 40).is_err());
    let small = array![[0i64, 1], [0, 0]];
    close(
        &vote_entropy(small.view(), 2).unwrap(),
        &vote_entropy(small.view(), 1 << 20).unwrap(),
    );
}

#[test]
fn bad_rows_are_found_wherever_they_sit() {
    // Ten rows: the first eight are validated four at a time, the last two one by one.
    for bad in 0..10 {
        for (value, expected) in [
            (f64::NAN, "finite"),
            (-0.25, "non-negative"),
            (0.75, "sum to 1"),
        ] {
            let mut p = Array2::from_elem((10, 2), 0.5);
            p[[bad, 1]] = value;
            if value < 0.0 {
                p[[bad, 0]] = 1.25;
            }
            for m in [Measure::LeastConfidence, Measure::Margin, Measure::Entropy] {
                for err in [
                    uncertainty_scores(p.view(), m).unwrap_err(),
                    select_most_uncertain(p.view(), 3, m).unwrap_err(),
                ] {
                    let message = err.to_string();
                    assert!(
                        message.contains(&format!("row {bad}")) && message.contains(expected),
                        "{message}"
                    );
                }
            }
        }
    }
}

#[test]
fn k_center_with_overflowing_distances_matches_textbook() {
    // float32 squared distances overflow to infinity here; nothing may be pruned on such bounds.
    let x = Array2::from_shape_fn((40, 3), |(i, j)| {
        if (i + j) % 3 == 0 {
            3e19f32
        } else {
            -(i as f32) * 1e18
        }
    });
    let x64 = x.mapv(f64::from);
    let picks = k_center_greedy(x.view(), &[0, 1], 20, 0).unwrap();
    let mut sorted = picks.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 20);
    assert!(!picks.contains(&0) && !picks.contains(&1));
    assert_eq!(
        k_center_greedy(x64.view(), &[0, 1], 20, 0).unwrap(),
        textbook_k_center(&x64, &[0, 1], 20, None)
    );
}
