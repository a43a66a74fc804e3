//! Pictures of detector events for the event browser, shared by the reports and the `display`
//! example: NEWSdm polarisation images with their barycentres and the barycentre path, PandaX-III
//! XZ / YZ projections and strip waveforms, SHiP TT hits per station with vertex markers.

use super::browser::{image_panel, Mark, Panel, PanelKind, Picture};
use crate::baselines::emulsion::barycenter_shift;
use crate::io::tpc::{Readout, Signals, StripAxis};
use crate::io::tt::{TtEvent, TtGeometry};
use ndarray::ArrayView3;

/// Marker colour of a true position.
pub const TRUE_COLOR: &str = "#ffffff";
/// Marker colour of a reconstructed position.
pub const RECO_COLOR: &str = "#ff3030";
/// Marker colour of a second reconstruction (e.g. the weighted mean).
pub const ALT_COLOR: &str = "#ff9f1a";

/// A marker at (x, y) in panel coordinates.
pub fn mark(x: f64, y: f64, label: &str, color: &str) -> Mark {
    Mark {
        x: x as f32,
        y: y as f32,
        label: label.into(),
        color: color.into(),
    }
}

/// The polarisation images of one NEWSdm cluster `(P, H, W)` (a 9th periodic copy of the first is
/// left out), each with its barycentre, and a last panel with the barycentre path across the
/// polarisations in nm around its mean (`pixel_nm` per pixel); `scale` names the pixel values.
/// Also returns the barycenter shift in nm (`None` for a cluster with no light above zero).
pub fn emulsion_cluster(
    images: ArrayView3<'_, f32>,
    pixel_nm: f64,
    scale: &str,
) -> (Picture, Option<f64>) {
    let (p, h, w) = images.dim();
    let copy =
        p == 9 && images.index_axis(ndarray::Axis(0), 8) == images.index_axis(ndarray::Axis(0), 0);
    let pols = if copy { 8 } else { p };
    let images = images.slice(ndarray::s![..pols, .., ..]);
    let shift = barycenter_shift(images, pixel_nm).ok();
    let shift_nm = shift.as_ref().map(|s| s.shift_nm);
    let mut panels: Vec<Panel> = (0..pols)
        .map(|k| {
            let mut panel = image_panel(
                &format!("pol {k} ({}°)", k * 180 / pols.max(1)),
                ["x [px]", "y [px]"],
                w,
                h,
                images
                    .index_axis(ndarray::Axis(0), k)
                    .iter()
                    .copied()
                    .collect(),
            );
            if let Some(b) = shift.as_ref().and_then(|s| s.barycentres_px.get(k)) {
                panel.marks.push(mark(b[0], b[1], "barycentre", RECO_COLOR));
            }
            panel
        })
        .collect();
    if let Some(s) = shift.filter(|s| !s.barycentres_px.is_empty()) {
        let n = s.barycentres_px.len() as f64;
        let mean = s
            .barycentres_px
            .iter()
            .fold([0.0, 0.0], |a, b| [a[0] + b[0] / n, a[1] + b[1] / n]);
        // The scatter panel draws y upwards, image rows go down: y is negated.
        let nm = |b: &[f64; 2]| {
            [
                ((b[0] - mean[0]) * pixel_nm) as f32,
                (-(b[1] - mean[1]) * pixel_nm) as f32,
            ]
        };
        let mut path: Vec<[f32; 2]> = s.barycentres_px.iter().map(nm).collect();
        let r = path
            .iter()
            .fold(10f32, |r, q| r.max(q[0].abs()).max(q[1].abs()))
            * 1.25;
        path.push(path[0]);
        panels.push(Panel {
            title: format!("barycentre path (shift {:.1} nm)", s.shift_nm),
            axes: ["x [nm]".into(), "y [nm]".into()],
            kind: PanelKind::Scatter {
                x_range: [-r, r],
                y_range: [-r, r],
                cell: 0.0,
                points: Vec::new(),
            },
            marks: vec![mark(
                path[0][0] as f64,
                path[0][1] as f64,
                "pol 0",
                TRUE_COLOR,
            )],
            path,
            own_scale: None,
        });
    }
    (
        Picture {
            panels,
            scale: scale.into(),
        },
        shift_nm,
    )
}

/// The XZ and YZ panels of a PandaX-III image item `(2, size, size)` (the conversion's pixels,
/// before any upsampling for the network).
pub fn tpc_projections(item: &[f32], size: usize) -> Vec<Panel> {
    let plane = |c: usize| item[c * size * size..(c + 1) * size * size].to_vec();
    vec![
        image_panel("XZ", ["x", "z (drift)"], size, size, plane(0)),
        image_panel("YZ", ["y", "z (drift)"], size, size, plane(1)),
    ]
}

/// Samples kept on each side of the pulses in a waveform panel.
const WAVEFORM_MARGIN_SAMPLES: usize = 16;
/// Consecutive samples above threshold that make a pulse in a waveform panel's window.
const PULSE_RUN_SAMPLES: usize = 3;

/// The strip waveforms of a PandaX-III event as stored (ADC counts, no baseline subtraction), one
/// panel per strip axis: rows are the axis' strips with a signal, by position, columns the time
/// samples of the window holding the pulses (runs of [`PULSE_RUN_SAMPLES`] samples more than
/// `threshold_adc` above their row's baseline, the mean of its first `baseline_samples`), with a
/// margin of [`WAVEFORM_MARGIN_SAMPLES`]. Each panel has its own colour scale. Signals whose strip is absent
/// from the readout are left out and counted in the title.
pub fn tpc_waveforms(
    signals: &Signals,
    readout: &Readout,
    baseline_samples: usize,
    threshold_adc: f32,
) -> Vec<Panel> {
    let t = signals.samples.ncols();
    // The window of samples above threshold over all signals.
    let (mut t0, mut t1) = (usize::MAX, 0usize);
    for row in signals.samples.rows() {
        let nb = baseline_samples.clamp(1, t.max(1)).min(row.len());
        if nb == 0 {
            continue;
        }
        let base = row.iter().take(nb).map(|&v| v as f32).sum::<f32>() / nb as f32;
        // A pulse is a run of PULSE_RUN_SAMPLES samples above threshold; single noise samples
        // above it (a 3σ threshold passes ~0.1 % of them) do not widen the window.
        let mut run = 0;
        for (k, &v) in row.iter().enumerate() {
            run = if v as f32 - base > threshold_adc {
                run + 1
            } else {
                0
            };
            if run >= PULSE_RUN_SAMPLES {
                t0 = t0.min(k + 1 - PULSE_RUN_SAMPLES);
                t1 = t1.max(k);
            }
        }
    }
    let (t0, t1) = if t0 <= t1 {
        (
            t0.saturating_sub(WAVEFORM_MARGIN_SAMPLES),
            (t1 + WAVEFORM_MARGIN_SAMPLES + 1).min(t),
        )
    } else {
        (0, t)
    };
    let mut panels = Vec::new();
    for (axis, name) in [(StripAxis::X, "X"), (StripAxis::Y, "Y")] {
        let mut rows: Vec<(f32, usize)> = Vec::new();
        let mut unknown = 0;
        for (k, &id) in signals.strip_id.iter().enumerate() {
            match readout.strip(id) {
                Some((a, pos)) if a == axis => rows.push((pos, k)),
                Some(_) => {}
                None => unknown += 1,
            }
        }
        if rows.is_empty() || t1 <= t0 {
            continue;
        }
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        let pixels: Vec<f32> = rows
            .iter()
            .flat_map(|&(_, k)| signals.samples.row(k).slice(ndarray::s![t0..t1]).to_vec())
            .map(f32::from)
            .collect();
        let (lo, hi) = (rows[0].0, rows[rows.len() - 1].0);
        let mut title = format!(
            "{name} strips: {} signals, {lo:.0}…{hi:.0} mm, samples {t0}…{}",
            rows.len(),
            t1 - 1
        );
        if unknown > 0 {
            title += &format!(" ({unknown} off the readout)");
        }
        let mut panel = image_panel(
            &title,
            ["time sample", "strip (by position)"],
            t1 - t0,
            rows.len(),
            pixels,
        );
        panel.own_scale = Some("ADC counts".into());
        panels.push(panel);
    }
    panels
}

/// The hits of a SHiP TT event per station over the station area (square side `pixel_cm`, the
/// hit-map pixel; colour = deposited energy on the event's scale), with `marks` on every station.
pub fn tt_stations(
    event: &TtEvent,
    geometry: &TtGeometry,
    pixel_cm: f64,
    marks: &[Mark],
) -> Picture {
    let [hx, hy] = [
        geometry.half_size_cm[0] as f32,
        geometry.half_size_cm[1] as f32,
    ];
    let h = &event.hits;
    let panels = (0..geometry.n_stations())
        .map(|st| {
            let points: Vec<[f32; 3]> = (0..h.len())
                .filter(|&j| h.station[j] as usize == st)
                .map(|j| [h.x_cm[j], h.y_cm[j], h.energy_gev[j]])
                .collect();
            Panel {
                title: format!("station {st} ({} hits)", points.len()),
                axes: ["x [cm]".into(), "y [cm]".into()],
                kind: PanelKind::Scatter {
                    x_range: [-hx, hx],
                    y_range: [-hy, hy],
                    cell: pixel_cm as f32,
                    points,
                },
                marks: marks.to_vec(),
                path: Vec::new(),
                own_scale: None,
            }
        })
        .collect();
    Picture {
        panels,
        scale: "hit energy [GeV]".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::tt::Hits;
    use ndarray::Array3;

    #[test]
    fn cluster_pictures_mark_each_barycentre_and_the_path() {
        let mut img = Array3::<f32>::zeros((9, 5, 5));
        for k in 0..9 {
            img[[k, 2, 1 + (k % 3)]] = 1.0;
        }
        let (p, shift) = emulsion_cluster(img.view(), 30.0, "grey");
        assert!(shift.unwrap() > 0.0);
        // 8 polarisations (the 9th is not a copy here, so all 9) plus the path panel.
        assert_eq!(p.panels.len(), 10);
        assert_eq!(p.panels[1].marks[0].x, 2.0);
        let path = &p.panels[9].path;
        assert_eq!(path.len(), 10);
        assert_eq!(path[0], path[9]);
        let mut copy = img.clone();
        let first = copy.index_axis(ndarray::Axis(0), 0).to_owned();
        copy.index_axis_mut(ndarray::Axis(0), 8).assign(&first);
        assert_eq!(emulsion_cluster(copy.view(), 30.0, "g").0.panels.len(), 9);
        // No light: images without barycentres and no path panel.
        let (dark, none) = emulsion_cluster(Array3::<f32>::zeros((8, 4, 4)).view(), 30.0, "g");
        assert!(none.is_none());
        assert_eq!(dark.panels.len(), 8);
        assert!(dark.panels.iter().all(|p| p.marks.is_empty()));
    }

    #[test]
    fn projections_are_the_two_planes() {
        let size = 2;
        let mut item = vec![0.0f32; 2 * size * size];
        for c in 0..2 {
            for r in 0..size {
                for q in 0..size {
                    item[c * size * size + r * size + q] = (c * 100 + r * 10 + q) as f32;
                }
            }
        }
        let p = tpc_projections(&item, size);
        match &p[1].kind {
            PanelKind::Image { pixels, width, .. } => {
                assert_eq!(*width, 2);
                assert_eq!(pixels, &[100.0, 101.0, 110.0, 111.0]);
            }
            _ => panic!("an image"),
        }
    }

    #[test]
    fn waveforms_are_sorted_by_strip_position_per_axis() {
        let readout = Readout::new(
            vec![1, 2, 3],
            vec![StripAxis::X, StripAxis::X, StripAxis::Y],
            vec![5.0, -5.0, 0.0],
        )
        .unwrap();
        let signals = Signals {
            strip_id: vec![1, 2, 3, 99],
            samples: ndarray::array![[1, 1], [2, 2], [3, 3], [4, 4]],
        };
        // No sample above threshold: the whole trace.
        let p = tpc_waveforms(&signals, &readout, 1, 10.0);
        assert_eq!(p.len(), 2);
        match &p[0].kind {
            PanelKind::Image { pixels, height, .. } => {
                assert_eq!(*height, 2);
                assert_eq!(pixels, &[2.0, 2.0, 1.0, 1.0]);
            }
            _ => panic!("an image"),
        }
        assert!(p[0].title.contains("1 off the readout"), "{}", p[0].title);
        assert!(p[0].own_scale.is_some());
        // A pulse over samples 40..=42 of 100 keeps samples 24..=58; a lone sample above
        // threshold (noise) does not widen the window.
        let mut samples = ndarray::Array2::<i16>::zeros((1, 100));
        for t in 40..43 {
            samples[[0, t]] = 50;
        }
        samples[[0, 90]] = 60;
        let pulse = Signals {
            strip_id: vec![3],
            samples,
        };
        let p = tpc_waveforms(&pulse, &readout, 10, 20.0);
        assert_eq!(p.len(), 1);
        match &p[0].kind {
            PanelKind::Image { pixels, width, .. } => {
                assert_eq!(*width, 35);
                assert_eq!(pixels[16], 50.0);
            }
            _ => panic!("an image"),
        }
        assert!(p[0].title.contains("samples 24…58"), "{}", p[0].title);
    }

    #[test]
    fn stations_hold_their_own_hits() {
        let e = TtEvent {
            energy_gev: 10.0,
            vertex_cm: [0.0, 0.0, 0.0],
            distance_cm: -1.0,
            hits: Hits::from_iter([(0.1, 0.2, 0, 1.0), (0.3, 0.4, 2, 2.0), (0.5, 0.6, 2, 3.0)]),
        };
        let m = [mark(0.0, 0.0, "true vertex", TRUE_COLOR)];
        let p = tt_stations(&e, &TtGeometry::ship(), 0.07, &m);
        assert_eq!(p.panels.len(), 6);
        let n: Vec<usize> = p
            .panels
            .iter()
            .map(|q| match &q.kind {
                PanelKind::Scatter { points, .. } => points.len(),
                _ => 0,
            })
            .collect();
        assert_eq!(n, [1, 0, 2, 0, 0, 0]);
        assert_eq!(p.panels[3].marks.len(), 1);
    }
}
