//! Parity of rareml-metrics with scikit-learn and scipy (`tests/fixtures/metrics.json`, copied from
//! `shared/fixtures/`): ROC curves with and without `drop_intermediate`, AUC, Ξ, rejection at
//! εs ≥ 0.5, Clopper–Pearson intervals and Student-t quantiles. Cases are read from the file.

use std::path::PathBuf;

use rareml_metrics::{
    clopper_pearson, rejection_at_efficiency, roc_auc_score, roc_curve, significance,
    student_t_quantile, Bound, Roc,
};
use serde_json::Value;

fn metrics() -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/metrics.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "inf" => f64::INFINITY,
        v => v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")),
    }
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(num).collect()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    a == b || (a - b).abs() <= rel * a.abs().max(b.abs())
}

fn assert_curve(name: &str, roc: &Roc, e: &Value) {
    for (key, ours) in [
        ("fpr", &roc.fpr),
        ("tpr", &roc.tpr),
        ("thresholds", &roc.thresholds),
    ] {
        let theirs = nums(&e[key]);
        assert_eq!(ours.len(), theirs.len(), "{name}: {key} length");
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(
                close(*a, *b, 1e-12),
                "{name}: {key}[{i}]: ours {a}, scikit-learn {b}"
            );
        }
    }
}

#[test]
fn roc_auc_significance_rejection_match_scikit_learn() {
    let m = metrics();
    let cases = m["cases"].as_object().unwrap();
    assert!(!cases.is_empty());
    for (name, c) in cases {
        let y: Vec<i64> = c["y_true"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let s64 = nums(&c["y_score"]);
        // Where the scores are float32 values stored exactly (case a), f32 input gives the same answers.
        let s32: Vec<f32> = s64.iter().map(|&v| v as f32).collect();
        let exact_f32 = s64.iter().zip(&s32).all(|(a, b)| *a == *b as f64);

        let full = roc_curve(&y, &s64, false).unwrap();
        assert_curve(&format!("{name} full"), &full, &c["roc_full"]);
        if exact_f32 {
            assert_curve(
                &format!("{name} full f32"),
                &roc_curve(&y, &s32, false).unwrap(),
                &c["roc_full"],
            );
            let auc32 = roc_auc_score(&y, &s32).unwrap();
            assert!(
                close(auc32, num(&c["roc_auc"]), 1e-12),
                "{name}: f32 auc {auc32}"
            );
        }
        assert_curve(
            &format!("{name} dropped"),
            &roc_curve(&y, &s64, true).unwrap(),
            &c["roc_dropped"],
        );
        assert_eq!(
            (full.n_pos, full.n_neg),
            (c["n_pos"].as_u64().unwrap(), c["n_neg"].as_u64().unwrap())
        );

        let auc = roc_auc_score(&y, &s64).unwrap();
        assert!(
            close(auc, num(&c["roc_auc"]), 1e-12),
            "{name}: auc {auc} vs {}",
            c["roc_auc"]
        );
        assert!(
            close(roc_curve(&y, &s64, true).unwrap().auc(), auc, 1e-12),
            "{name}: dropping keeps the area"
        );

        let sig = significance(&y, &s64).unwrap();
        let e = &c["significance"];
        assert!(
            close(sig.xi, num(&e["xi"]), 1e-12),
            "{name}: xi {} vs {}",
            sig.xi,
            e["xi"]
        );
        assert_eq!(
            sig.index as u64,
            e["index"].as_u64().unwrap(),
            "{name}: xi index"
        );
        assert_eq!(sig.threshold, num(&e["threshold"]), "{name}: xi threshold");
        assert!(close(sig.tpr, num(&e["tpr"]), 1e-12) && close(sig.fpr, num(&e["fpr"]), 1e-12));
        // The dropped curve keeps the same maximum.
        assert!(close(
            roc_curve(&y, &s64, true).unwrap().significance().xi,
            sig.xi,
            1e-12
        ));

        let e = &c["rejection_at_tpr_0p5"];
        let wp = rejection_at_efficiency(&y, &s64, 0.5, 0.95).unwrap();
        assert_eq!(
            wp.threshold,
            num(&e["threshold"]),
            "{name}: threshold at εs ≥ 0.5"
        );
        assert!(close(wp.signal.value, num(&e["tpr"]), 1e-12));
        assert!(close(wp.background.value, num(&e["fpr"]), 1e-12));
        assert_eq!(
            full.index_at_tpr(0.5).unwrap() as u64,
            e["index"].as_u64().unwrap()
        );
        match (wp.rejection, &e["rejection"]) {
            (Bound::Value(r), v) => {
                assert!(close(r, num(v), 1e-12), "{name}: rejection {r} vs {v}")
            }
            (Bound::LowerLimit(r), v) => assert_eq!(
                num(v),
                f64::INFINITY,
                "{name}: limit {r} where sklearn has {v}"
            ),
        }
    }
}

#[test]
fn clopper_pearson_matches_scipy() {
    let m = metrics();
    let entries = m["clopper_pearson"].as_array().unwrap();
    assert!(!entries.is_empty());
    for e in entries {
        let (k, n, cl) = (
            e["k"].as_u64().unwrap(),
            e["n"].as_u64().unwrap(),
            num(&e["cl"]),
        );
        let (lo, hi) = clopper_pearson(k, n, cl).unwrap();
        assert!(
            close(lo, num(&e["lower"]), 1e-9),
            "k={k} n={n} cl={cl}: lower {lo} vs {}",
            e["lower"]
        );
        assert!(
            close(hi, num(&e["upper"]), 1e-9),
            "k={k} n={n} cl={cl}: upper {hi} vs {}",
            e["upper"]
        );
    }
}

#[test]
fn student_t_matches_scipy() {
    let m = metrics();
    for e in m["student_t_975"].as_array().unwrap() {
        let dof = num(&e["dof"]);
        let t = student_t_quantile(0.975, dof).unwrap();
        assert!(close(t, num(&e["t"]), 1e-9), "dof {dof}: {t} vs {}", e["t"]);
    }
}
