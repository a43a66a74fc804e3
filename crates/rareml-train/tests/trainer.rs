//! The trainer: exact resume after an interruption between epochs and in the middle of a
//! checkpoint write, a clear stop on a non-finite loss, prediction.

use candle_core::Device;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rareml_models::{Model, ModelConfig, Params, SndBlock, SndNetConfig};
use rareml_train::{
    predict, predict_ensemble, AdamConfig, EnsembleRule, Error, InMemory, Schedule, Split, Targets,
    Task, TrainConfig, Trainer, WeightDecaySchedule,
};
use std::collections::BTreeMap;
use std::path::Path;

fn tiny_model() -> ModelConfig {
    ModelConfig::SndNet(SndNetConfig {
        input: [2, 12, 14],
        blocks: vec![SndBlock {
            channels: 4,
            pool: true,
        }],
        ..Default::default()
    })
}

/// 40 events whose two targets depend on the input, with a flip augmentation.
fn data(scale_targets: f32) -> InMemory {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let per = 2 * 12 * 14;
    let x: Vec<f32> = (0..40 * per).map(|_| rng.random_range(-1.0..1.0)).collect();
    let t: Vec<f32> = (0..40)
        .flat_map(|i| {
            let s: f32 = x[i * per..(i + 1) * per].iter().sum();
            [s / 20.0 * scale_targets, x[i * per] * scale_targets]
        })
        .collect();
    InMemory::new(x, vec![2, 12, 14], Targets::Values { data: t, width: 2 })
        .unwrap()
        .with_augment(Box::new(|v: &mut [f32], seed: u64| {
            if seed.is_multiple_of(2) {
                v.reverse();
            }
        }))
}

fn cfg() -> TrainConfig {
    TrainConfig {
        epochs: 3,
        batch_size: 8,
        optimizer: AdamConfig {
            lr: 3e-3,
            ..AdamConfig::ship()
        },
        schedule: Schedule::Step {
            every: 2,
            gamma: 0.5,
        },
        weight_decay_schedule: WeightDecaySchedule::Constant,
        seed: 11,
        keep_last: 2,
        ensemble: EnsembleRule::Last,
        progress: false,
    }
}

/// Trains (possibly in several calls) and returns every variable's values.
fn run(
    dir: &Path,
    calls: &[Option<usize>],
    before_last: impl Fn(&Path),
) -> BTreeMap<String, Vec<f32>> {
    let src = data(1.0);
    let split = Split::random(40, 0.2, 0.2, 3).unwrap();
    let mut last = BTreeMap::new();
    for (i, &stop) in calls.iter().enumerate() {
        if i + 1 == calls.len() {
            before_last(dir);
        }
        // A fresh process: new parameters (same init seed), new trainer.
        let params = Params::new(9);
        let model = Model::new(&tiny_model(), &params, &Device::Cpu).unwrap();
        let t = Trainer::new(
            &model,
            &params,
            Task::Regression { delta: 1.0 },
            cfg(),
            Device::Cpu,
            dir,
        )
        .unwrap();
        t.fit(&src, &split, stop).unwrap();
        last = params
            .named()
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    v.as_tensor()
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap(),
                )
            })
            .collect();
    }
    last
}

#[test]
fn resume_gives_the_same_weights_as_an_uninterrupted_run() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let full = run(dirs[0].path(), &[None], |_| {});
    // Killed between epochs: one epoch, then the rest.
    let resumed = run(dirs[1].path(), &[Some(1), None], |_| {});
    assert_eq!(full, resumed, "resume after epoch 1");
    // Killed while writing epoch 1's checkpoint: its weights are half written, the optimiser
    // state is still a temporary file, its JSON does not exist. The run resumes from epoch 0.
    let interrupted = run(dirs[2].path(), &[Some(2), None], |dir| {
        let w = dir.join("epoch-0001.safetensors");
        let bytes = std::fs::read(&w).unwrap();
        std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
        std::fs::rename(
            dir.join("epoch-0001.optim.safetensors"),
            dir.join("epoch-0001.optim.safetensors.tmp"),
        )
        .unwrap();
        std::fs::remove_file(dir.join("epoch-0001.json")).unwrap();
    });
    assert_eq!(full, interrupted, "resume after a torn checkpoint");
    // The last K = 2 checkpoints are kept.
    let mut names: Vec<String> = std::fs::read_dir(dirs[0].path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "epoch-0001.json",
            "epoch-0001.optim.safetensors",
            "epoch-0001.safetensors",
            "epoch-0002.json",
            "epoch-0002.optim.safetensors",
            "epoch-0002.safetensors"
        ]
    );
}

#[test]
fn training_lowers_the_loss_and_records_history() {
    let dir = tempfile::tempdir().unwrap();
    let src = data(1.0);
    let split = Split::random(40, 0.2, 0.2, 3).unwrap();
    let params = Params::new(9);
    let model = Model::new(&tiny_model(), &params, &Device::Cpu).unwrap();
    let c = TrainConfig { epochs: 8, ..cfg() };
    let t = Trainer::new(
        &model,
        &params,
        Task::Regression { delta: 1.0 },
        c,
        Device::Cpu,
        dir.path(),
    )
    .unwrap();
    let h = t.fit(&src, &split, None).unwrap();
    assert_eq!(h.len(), 8);
    assert!(h[7].train_loss < 0.7 * h[0].train_loss, "{h:?}");
    assert!(h
        .iter()
        .all(|r| r.val_loss.is_finite() && r.events_per_s > 0.0));
    assert_eq!((h[0].lr, h[2].lr, h[4].lr), (3e-3, 1.5e-3, 7.5e-4));
    assert!(h.iter().all(|r| r.weight_decay == 0.01));
    assert_eq!(t.kept_weights().unwrap().len(), 2);

    // The public SHiP code's schedule: λ dropped and the optimiser re-created at epoch 2; a run
    // interrupted after epoch 2 (before the re-creation) resumes to the uninterrupted weights.
    let weights = |stops: &[Option<usize>]| {
        let dir = tempfile::tempdir().unwrap();
        let mut out = (Vec::new(), Vec::new());
        for &stop in stops {
            let params = Params::new(9);
            let model = Model::new(&tiny_model(), &params, &Device::Cpu).unwrap();
            let c = TrainConfig {
                epochs: 4,
                weight_decay_schedule: WeightDecaySchedule::DropAfter { epochs: 2 },
                ..cfg()
            };
            let t = Trainer::new(
                &model,
                &params,
                Task::Regression { delta: 1.0 },
                c,
                Device::Cpu,
                dir.path(),
            )
            .unwrap();
            let h = t.fit(&src, &split, stop).unwrap();
            out = (
                h.iter().map(|r| r.weight_decay).collect::<Vec<f64>>(),
                params
                    .named()
                    .into_values()
                    .flat_map(|v| {
                        v.as_tensor()
                            .flatten_all()
                            .unwrap()
                            .to_vec1::<f32>()
                            .unwrap()
                    })
                    .collect::<Vec<f32>>(),
            );
        }
        out
    };
    let (wd, whole) = weights(&[None]);
    assert_eq!(wd, [0.01, 0.01, 0.0, 0.0]);
    let (wd2, resumed) = weights(&[Some(2), None]);
    assert_eq!(wd2, wd);
    assert_eq!(resumed, whole, "resume across the optimiser's re-creation");

    // The paper's text: λ halved every 2 epochs here; and the MSE task trains too.
    let dir = tempfile::tempdir().unwrap();
    let params = Params::new(9);
    let model = Model::new(&tiny_model(), &params, &Device::Cpu).unwrap();
    let c = TrainConfig {
        epochs: 5,
        weight_decay_schedule: WeightDecaySchedule::Step {
            every: 2,
            gamma: 0.5,
        },
        ..cfg()
    };
    let t = Trainer::new(
        &model,
        &params,
        Task::MeanSquared,
        c,
        Device::Cpu,
        dir.path(),
    )
    .unwrap();
    let h = t.fit(&src, &split, None).unwrap();
    let wd: Vec<f64> = h.iter().map(|r| r.weight_decay).collect();
    assert_eq!(wd, [0.01, 0.01, 0.005, 0.005, 0.0025]);
    assert!(h[4].train_loss < h[0].train_loss, "{h:?}");
}

#[test]
fn a_non_finite_loss_stops_the_run_naming_epoch_and_batch() {
    let dir = tempfile::tempdir().unwrap();
    let src = data(1e38);
    let split = Split::random(40, 0.2, 0.2, 3).unwrap();
    let params = Params::new(9);
    let model = Model::new(&tiny_model(), &params, &Device::Cpu).unwrap();
    let t = Trainer::new(
        &model,
        &params,
        Task::Regression { delta: 1e38 },
        cfg(),
        Device::Cpu,
        dir.path(),
    )
    .unwrap();
    let err = t.fit(&src, &split, None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFinite {
                epoch: 0,
                batch: 0,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("epoch 0, batch 0"));
    // Wrong targets for the task and bad configs are errors too.
    let t = Trainer::new(
        &model,
        &params,
        Task::Binary,
        cfg(),
        Device::Cpu,
        dir.path(),
    )
    .unwrap();
    assert!(t
        .fit(&src, &split, None)
        .unwrap_err()
        .to_string()
        .contains("do not fit the task"));
    let bad = TrainConfig {
        batch_size: 0,
        ..cfg()
    };
    assert!(Trainer::new(&model, &params, Task::Binary, bad, Device::Cpu, dir.path()).is_err());
    assert!(
        InMemory::new(vec![f32::NAN; 4], vec![2], Targets::Classes(vec![0, 1]))
            .err()
            .unwrap()
            .to_string()
            .contains("not finite")
    );
}

/// `predict` gives one row of outputs per event in any batching; `predict_ensemble` one array
/// per kept checkpoint, the last equal to the trained weights' outputs.
#[test]
fn prediction_in_batches_and_over_the_kept_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let src = data(1.0);
    let split = Split::random(40, 0.2, 0.2, 3).unwrap();
    let params = Params::new(9);
    let model = Model::new(&tiny_model(), &params, &Device::Cpu).unwrap();
    let t = Trainer::new(
        &model,
        &params,
        Task::Regression { delta: 1.0 },
        cfg(),
        Device::Cpu,
        dir.path(),
    )
    .unwrap();
    t.fit(&src, &split, None).unwrap();
    let whole = predict(&model, &src, &split.test, 64, &Device::Cpu).unwrap();
    assert_eq!(whole.dim(), (split.test.len(), 2));
    let small = predict(&model, &src, &split.test, 3, &Device::Cpu).unwrap();
    let close = |a: &ndarray::Array2<f32>, b: &ndarray::Array2<f32>| {
        a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-5 * (1.0 + y.abs()))
    };
    assert!(close(&whole, &small), "batching changes the outputs");
    assert!(predict(&model, &src, &split.test, 0, &Device::Cpu).is_err());
    let kept = t.kept_weights().unwrap();
    assert_eq!(kept.len(), 2, "keep_last = 2");
    let members =
        predict_ensemble(&model, &params, &kept, &src, &split.test, 8, &Device::Cpu).unwrap();
    assert_eq!(members.len(), 2);
    assert!(close(&members[1], &whole));
    assert!(members[0] != members[1], "the two epochs differ");
    assert!(predict_ensemble(&model, &params, &[], &src, &split.test, 8, &Device::Cpu).is_err());
}

/// Every configuration rule names its field.
#[test]
fn configuration_rules_name_their_field() {
    let bad = |c: TrainConfig, field: &str| {
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains(field), "{field}: {e}");
    };
    bad(TrainConfig { epochs: 0, ..cfg() }, "epochs");
    bad(
        TrainConfig {
            batch_size: 0,
            ..cfg()
        },
        "batch_size",
    );
    bad(
        TrainConfig {
            keep_last: 0,
            ..cfg()
        },
        "keep_last",
    );
    let opt = |o: AdamConfig, field: &str| {
        bad(
            TrainConfig {
                optimizer: o,
                ..cfg()
            },
            field,
        )
    };
    opt(
        AdamConfig {
            lr: 0.0,
            ..AdamConfig::default()
        },
        "optimizer.lr",
    );
    opt(
        AdamConfig {
            lr: f64::NAN,
            ..AdamConfig::default()
        },
        "optimizer.lr",
    );
    opt(
        AdamConfig {
            beta1: 1.0,
            ..AdamConfig::default()
        },
        "optimizer.beta1",
    );
    opt(
        AdamConfig {
            beta2: -0.1,
            ..AdamConfig::default()
        },
        "optimizer.beta2",
    );
    opt(
        AdamConfig {
            eps: 0.0,
            ..AdamConfig::default()
        },
        "optimizer.eps",
    );
    opt(
        AdamConfig {
            weight_decay: -1.0,
            ..AdamConfig::default()
        },
        "optimizer.weight_decay",
    );
    let sched = |s: Schedule, field: &str| {
        bad(
            TrainConfig {
                schedule: s,
                ..cfg()
            },
            field,
        )
    };
    sched(Schedule::Exponential { gamma: 0.0 }, "schedule.gamma");
    sched(
        Schedule::Step {
            every: 2,
            gamma: 1.5,
        },
        "schedule.gamma",
    );
    sched(
        Schedule::Step {
            every: 0,
            gamma: 0.5,
        },
        "schedule.every",
    );
    assert!(cfg().validate().is_ok());
    for (v, t, field) in [
        (-0.1, 0.1, "split.val"),
        (0.1, 1.0, "split.test"),
        (0.6, 0.5, "split.test"),
    ] {
        let e = Split::random(10, v, t, 0).unwrap_err().to_string();
        assert!(e.contains(field), "{field}: {e}");
    }
    assert!(Split::random(1, 0.0, 0.9, 0).is_err(), "no training event");
}

#[test]
fn stale_temporaries_are_removed_and_writes_leave_none() {
    let dir = tempfile::tempdir().unwrap();
    // What a write killed before its rename leaves behind.
    std::fs::write(dir.path().join("epoch-0003.safetensors.tmp"), b"partial").unwrap();
    std::fs::write(dir.path().join("epoch-0003.json.tmp"), b"{").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"kept").unwrap();
    let src = data(1.0);
    let split = Split::random(40, 0.2, 0.2, 3).unwrap();
    let params = Params::new(9);
    let model = Model::new(&tiny_model(), &params, &Device::Cpu).unwrap();
    let t = Trainer::new(
        &model,
        &params,
        Task::Regression { delta: 1.0 },
        TrainConfig { epochs: 1, ..cfg() },
        Device::Cpu,
        dir.path(),
    )
    .unwrap();
    t.fit(&src, &split, None).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    assert!(names.contains(&"notes.txt".to_string()));
    assert!(names.contains(&"epoch-0000.json".to_string()), "{names:?}");
}

#[test]
fn a_damaged_latest_checkpoint_falls_back_to_the_previous_intact_one() {
    let reference = tempfile::tempdir().unwrap();
    let full = run(reference.path(), &[None], |_| {});
    // Epochs 0 and 1 written, then epoch 1 damaged in one of three ways: the run resumes from
    // epoch 0 and ends where the uninterrupted one does.
    type Damage = (&'static str, fn(&Path));
    let damages: [Damage; 3] = [
        ("a flipped byte in the weights (same size)", |dir| {
            let w = dir.join("epoch-0001.safetensors");
            let mut b = std::fs::read(&w).unwrap();
            let mid = b.len() / 2;
            b[mid] ^= 0x40;
            std::fs::write(&w, b).unwrap();
        }),
        ("a truncated optimiser state", |dir| {
            let o = dir.join("epoch-0001.optim.safetensors");
            let b = std::fs::read(&o).unwrap();
            std::fs::write(&o, &b[..b.len() - 8]).unwrap();
        }),
        ("an empty JSON", |dir| {
            std::fs::write(dir.join("epoch-0001.json"), b"").unwrap();
        }),
    ];
    for (what, damage) in damages {
        let dir = tempfile::tempdir().unwrap();
        let resumed = run(dir.path(), &[Some(2), None], damage);
        assert_eq!(full, resumed, "{what}");
    }
}

#[test]
fn resuming_with_another_configuration_is_refused_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &[Some(2)], |_| {});
    let src = data(1.0);
    let split = Split::random(40, 0.2, 0.2, 3).unwrap();
    let fit = |c: TrainConfig, allow: bool| {
        let params = Params::new(9);
        let model = Model::new(&tiny_model(), &params, &Device::Cpu).unwrap();
        Trainer::new(
            &model,
            &params,
            Task::Regression { delta: 1.0 },
            c,
            Device::Cpu,
            dir.path(),
        )
        .unwrap()
        .resume_with_new_config(allow)
        .fit(&src, &split, None)
    };
    // Fewer epochs than already trained, or another batch size: refused, naming the change.
    for (c, field) in [
        (TrainConfig { epochs: 1, ..cfg() }, "epochs: 3 → 1"),
        (
            TrainConfig {
                batch_size: 4,
                ..cfg()
            },
            "batch_size: 8 → 4",
        ),
    ] {
        let e = fit(c, false).unwrap_err().to_string();
        assert!(
            e.contains(field) && e.contains("--resume-with-new-config"),
            "{e}"
        );
    }
    // Asked for: resumed with the new batch size.
    let h = fit(
        TrainConfig {
            batch_size: 4,
            ..cfg()
        },
        true,
    )
    .unwrap();
    assert_eq!(h.len(), 3);
    // More epochs than before continue the run (the epoch-2 checkpoint now records batch 4).
    let h = fit(
        TrainConfig {
            epochs: 5,
            batch_size: 4,
            ..cfg()
        },
        false,
    )
    .unwrap();
    assert_eq!(h.len(), 5);
}

/// The paper's ensemble rule end to end: each epoch records its validation accuracy, the
/// ensemble is the rule's selection from the history, the weights of every epoch the rule can no
/// longer select are deleted and those it selects are kept; a regression task is refused.
#[test]
fn the_best_validation_rule_selects_from_the_recorded_history() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let per = 2 * 12 * 14;
    // Class 1 events carry a small offset on their first channel: learnable, not at once.
    let labels: Vec<u32> = (0..60).map(|_| rng.random_range(0..2)).collect();
    let x: Vec<f32> = (0..60 * per)
        .map(|i| {
            let offset = if labels[i / per] == 1 && i % per < per / 2 {
                0.15
            } else {
                0.0
            };
            rng.random_range(-1.0..1.0) + offset
        })
        .collect();
    let src = InMemory::new(x, vec![2, 12, 14], Targets::Classes(labels)).unwrap();
    let split = Split::random(60, 0.25, 0.1, 4).unwrap();
    let model_cfg = ModelConfig::SndNet(SndNetConfig {
        outputs: 1,
        ..match tiny_model() {
            ModelConfig::SndNet(c) => c,
            _ => unreachable!(),
        }
    });
    let rule = EnsembleRule::BestValidation { delta: 0.05 };
    let train_cfg = TrainConfig {
        epochs: 8,
        keep_last: 2,
        ensemble: rule,
        ..cfg()
    };
    let dir = tempfile::tempdir().unwrap();
    let params = Params::new(3);
    let model = Model::new(&model_cfg, &params, &Device::Cpu).unwrap();
    let t = Trainer::new(
        &model,
        &params,
        Task::Binary,
        train_cfg.clone(),
        Device::Cpu,
        dir.path(),
    )
    .unwrap();
    let history = t.fit(&src, &split, None).unwrap();
    let n_val = split.val.len() as f64;
    for r in &history {
        // An accuracy is a count over the validation events.
        let count = r.val_accuracy * n_val;
        assert!((count - count.round()).abs() < 1e-9, "{r:?}");
    }
    let chosen = rule.select(&history, 2).unwrap();
    let kept = t.kept_weights().unwrap();
    let want: Vec<_> = chosen.iter().map(|&e| t.checkpoint_files(e).0).collect();
    assert_eq!(kept, want);
    let retained = rule.retained(&history, 2);
    // These seeds give epochs below the margin (0 and 3: accuracy 0.60 against 0.67), so the
    // deletion is exercised.
    assert!(retained.len() < history.len(), "{history:?}");
    for e in 0..history.len() - 2 {
        let (w, o, _) = t.checkpoint_files(e);
        assert_eq!(w.exists(), retained.contains(&e), "epoch {e} weights");
        assert!(
            !o.exists(),
            "epoch {e}: optimiser state of an old epoch kept"
        );
    }
    // The optimiser states of the last two epochs stay for resume.
    assert!(t.checkpoint_files(history.len() - 1).1.exists());
    // Regression has no accuracy: refused before training.
    let reg = tempfile::tempdir().unwrap();
    let params = Params::new(3);
    let model = Model::new(&tiny_model(), &params, &Device::Cpu).unwrap();
    let t = Trainer::new(
        &model,
        &params,
        Task::Regression { delta: 1.0 },
        train_cfg,
        Device::Cpu,
        reg.path(),
    )
    .unwrap();
    let e = t.fit(&data(1.0), &Split::random(40, 0.2, 0.2, 3).unwrap(), None);
    let e = e.unwrap_err().to_string();
    assert!(e.contains("classification"), "{e}");
}
