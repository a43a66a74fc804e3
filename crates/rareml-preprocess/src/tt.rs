//! SHiP target-tracker hits → per-station hit maps as the public SHiP SND_trackers code makes them
//! (700 µm pixels over the 12.9 × 10.5 cm station → `(6, 150, 185)`), hit counts or energy
//! weighting; the energy target scaling E × 7/100; and CoordConv's coordinate channels.

use ndarray::{s, Array3, Array4, ArrayView4, ArrayViewMut3, Axis};
use rareml_io::tt::{TtEvent, SHIP_HALF_SIZE_CM};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{config, data, Error, Result};

/// Hit-map pixel size of the public SHiP code in cm (700 µm).
pub const SHIP_PIXEL_CM: f64 = 0.07;

/// Scale applied to the energy target for training in the public SHiP code (E × 7/100).
pub const ENERGY_TARGET_SCALE: f64 = 7.0 / 100.0;

/// Energy target as the network learns it: E (GeV) × 7/100.
pub fn scale_energy(energy_gev: f64) -> f64 {
    energy_gev * 7.0 / 100.0
}

/// Back from the network's energy output to GeV.
pub fn unscale_energy(target: f64) -> f64 {
    target * 100.0 / 7.0
}

/// What a pixel holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Weighting {
    /// Number of hits (public SHiP code).
    Count,
    /// Σ of the hits' deposited energy in GeV.
    Energy,
}

/// Digitisation parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HitMapConfig {
    /// Pixel size in cm.
    pub pixel_cm: f64,
    /// Half sizes (x, y) of the station area in cm.
    pub half_size_cm: [f64; 2],
    /// Pixel content.
    pub weighting: Weighting,
}

impl Default for HitMapConfig {
    /// The public SHiP code: 700 µm pixels over 12.9 × 10.5 cm, hit counts.
    fn default() -> Self {
        Self {
            pixel_cm: SHIP_PIXEL_CM,
            half_size_cm: SHIP_HALF_SIZE_CM,
            weighting: Weighting::Count,
        }
    }
}

impl HitMapConfig {
    /// Checks the pixel and station half sizes: finite and > 0.
    pub fn validate(&self) -> Result<()> {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if !ok(self.pixel_cm) {
            return Err(config("pixel_cm", self.pixel_cm, "finite and > 0 cm"));
        }
        if !ok(self.half_size_cm[0]) || !ok(self.half_size_cm[1]) {
            return Err(config(
                "half_size_cm",
                self.half_size_cm,
                "finite and > 0 cm",
            ));
        }
        Ok(())
    }

    /// Map size (rows along y, columns along x): ⌈2·half/pixel⌉ per axis (150 × 185 by default).
    pub fn size(&self) -> Result<(usize, usize)> {
        self.validate()?;
        // The 1e-9 guard keeps 10.5/0.07 = 150.000…03 at 150.
        let n = |half: f64| ((2.0 * half / self.pixel_cm) - 1e-9).ceil().max(0.0) as usize;
        let (h, w) = (n(self.half_size_cm[1]), n(self.half_size_cm[0]));
        // A station smaller than a pixel would give an empty map; one of more than 2²⁴ pixels
        // (4096 × 4096) per station is a unit mistake, not a detector.
        if h == 0 || w == 0 || h.saturating_mul(w) > 1 << 24 {
            return Err(config(
                "pixel_cm",
                self.pixel_cm,
                "between 2·half_size / 4096 and 2·half_size cm (maps of 1 … 4096 pixels per side)",
            ));
        }
        Ok((h, w))
    }
}

/// What digitisation did with one event's hits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DigitiseReport {
    /// Hits in the event.
    pub hits: usize,
    /// Hits outside the station area (not in any map; reported, not silently dropped).
    pub outside: usize,
}

/// Hit maps `(K, H, W)` of one event: row = ⌊(y + half_y)/pixel⌋, column = ⌊(x + half_x)/pixel⌋
/// (float arithmetic as numpy's); hits outside the station area −half ≤ x, y < half are counted in
/// the report's `outside`.
pub fn hit_maps(
    event: &TtEvent,
    n_stations: usize,
    cfg: &HitMapConfig,
) -> Result<(Array3<f32>, DigitiseReport)> {
    let (h, w) = cfg.size()?;
    let mut maps = Array3::<f32>::zeros((n_stations, h, w));
    let report = fill_maps(event, cfg, maps.view_mut())?;
    Ok((maps, report))
}

/// Writes the event's maps into `maps` (zeroed first, so a reused batch buffer works).
pub fn fill_maps(
    event: &TtEvent,
    cfg: &HitMapConfig,
    mut maps: ArrayViewMut3<'_, f32>,
) -> Result<DigitiseReport> {
    let (k, h, w) = maps.dim();
    if (h, w) != cfg.size()? {
        return Err(Error::Shape {
            what: "hit-map slot",
            expected: format!("(K, {:?})", cfg.size()?),
            found: vec![k, h, w],
        });
    }
    maps.fill(0.0);
    let hits = &event.hits;
    if hits.is_empty() {
        return Err(Error::EmptyEvent {
            what: "TT event",
            reason: format!("no hits (E = {} GeV)", event.energy_gev),
        });
    }
    let n = hits.len();
    if hits.y_cm.len() != n || hits.station.len() != n || hits.energy_gev.len() != n {
        return Err(Error::Shape {
            what: "TT hits",
            expected: format!("{n} entries in every column"),
            found: vec![
                n,
                hits.y_cm.len(),
                hits.station.len(),
                hits.energy_gev.len(),
            ],
        });
    }
    let mut outside = 0;
    for i in 0..n {
        let (x, y, st, e) = (
            hits.x_cm[i] as f64,
            hits.y_cm[i] as f64,
            hits.station[i] as usize,
            hits.energy_gev[i],
        );
        if !x.is_finite() || !y.is_finite() || !e.is_finite() {
            return Err(Error::NonFinite {
                what: "TT hit",
                count: 1,
                index: vec![i],
            });
        }
        if st >= k {
            return Err(data(
                "TT hit",
                format!("hit {i}: station {st} but maps for {k} stations"),
            ));
        }
        let [hx, hy] = cfg.half_size_cm;
        if x < -hx || x >= hx || y < -hy || y >= hy {
            outside += 1;
            continue;
        }
        // In the station area; min() only guards float rounding at the upper edge.
        let col = (((x + hx) / cfg.pixel_cm).floor() as usize).min(w - 1);
        let row = (((y + hy) / cfg.pixel_cm).floor() as usize).min(h - 1);
        maps[[st, row, col]] += match cfg.weighting {
            Weighting::Count => 1.0,
            Weighting::Energy => e,
        };
    }
    Ok(DigitiseReport { hits: n, outside })
}

/// Hit maps of a batch `(B, K, H, W)`, filled in parallel.
pub fn batch_hit_maps(
    events: &[TtEvent],
    n_stations: usize,
    cfg: &HitMapConfig,
) -> Result<(Array4<f32>, Vec<DigitiseReport>)> {
    if events.is_empty() {
        return Err(Error::EmptyEvent {
            what: "TT batch",
            reason: "no events".into(),
        });
    }
    let (h, w) = cfg.size()?;
    let mut out = Array4::<f32>::zeros((events.len(), n_stations, h, w));
    let reports = out
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(events.par_iter())
        .map(|(o, e)| fill_maps(e, cfg, o))
        .collect::<Result<Vec<_>>>()?;
    Ok((out, reports))
}

/// CoordConv's coordinate channels `(3, H, W)` = [y, x, r] as the public SHiP code computes them:
/// `y = 2i/(H−1) − 1`, `x = 2j/(W−1) − 1`, `r = √(x² + y²)` divided by its maximum (1 at the corners).
pub fn coordinate_channels(h: usize, w: usize) -> Result<Array3<f32>> {
    if h < 2 || w < 2 {
        return Err(Error::Shape {
            what: "coordinate channels",
            expected: "H ≥ 2 and W ≥ 2".into(),
            found: vec![h, w],
        });
    }
    let mut c = Array3::<f32>::zeros((3, h, w));
    for i in 0..h {
        for j in 0..w {
            let y = 2.0f32 * i as f32 / (h as f32 - 1.0) - 1.0;
            let x = 2.0f32 * j as f32 / (w as f32 - 1.0) - 1.0;
            c[[0, i, j]] = y;
            c[[1, i, j]] = x;
            c[[2, i, j]] = (y * y + x * x).sqrt();
        }
    }
    let max = c
        .slice(s![2, .., ..])
        .iter()
        .copied()
        .fold(0.0f32, f32::max);
    c.slice_mut(s![2, .., ..]).mapv_inplace(|r| r / max);
    Ok(c)
}

/// Prepends the coordinate channels to every item of a batch: `(B, C, H, W)` → `(B, 3 + C, H, W)`.
pub fn add_coordinate_channels(x: ArrayView4<'_, f32>) -> Result<Array4<f32>> {
    let (b, c, h, w) = x.dim();
    let coords = coordinate_channels(h, w)?;
    let mut out = Array4::<f32>::zeros((b, c + 3, h, w));
    for mut item in out.outer_iter_mut() {
        item.slice_mut(s![..3, .., ..]).assign(&coords);
    }
    out.slice_mut(s![.., 3.., .., ..]).assign(&x);
    Ok(out)
}

/// The study's event selection (public SHiP code, SND_trackers): an event is kept when it has at
/// least `min_hits` hits — "more than 5 hits", so 6 by default. The code's other cuts (exactly one
/// primary e±, primary momentum ≥ 0.5 GeV, hits with momentum > 10⁻⁴ GeV inside the TT windows
/// and p_z ≥ 0) hold by construction for the toy Monte Carlo, which has one primary electron of
/// ≥ 1 GeV and only hits inside the stations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Fewest hits an event may have and be kept.
    pub min_hits: usize,
}

impl Default for Selection {
    fn default() -> Self {
        Self { min_hits: 6 }
    }
}

/// Events of one true-energy bin before and after the selection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectedInBin {
    /// Lower edge of the bin in GeV.
    pub lo_gev: f64,
    /// Upper edge in GeV.
    pub hi_gev: f64,
    /// Events in the bin.
    pub total: usize,
    /// Events rejected in the bin.
    pub rejected: usize,
}

/// What the selection kept and rejected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectionReport {
    /// The cut applied.
    pub min_hits: usize,
    /// Events looked at.
    pub total: usize,
    /// Events kept.
    pub kept: usize,
    /// Events rejected.
    pub rejected: usize,
    /// Per true-energy bin (events outside every bin are counted in the totals only).
    pub per_energy: Vec<SelectedInBin>,
}

impl Selection {
    /// Whether `event` passes.
    pub fn keep(&self, event: &TtEvent) -> bool {
        event.hits.len() >= self.min_hits
    }

    /// The positions of the kept events and the counts, per true-energy bin of `edges_gev`
    /// (increasing, at least two edges; a bin holds lo ≤ E < hi, the last also E = hi).
    pub fn apply(
        &self,
        events: &[TtEvent],
        edges_gev: &[f64],
    ) -> Result<(Vec<usize>, SelectionReport)> {
        if edges_gev.len() < 2 || !edges_gev.windows(2).all(|w| w[0] < w[1]) {
            return Err(config("edges_gev", edges_gev, "≥ 2 increasing edges"));
        }
        let mut per_energy: Vec<SelectedInBin> = edges_gev
            .windows(2)
            .map(|w| SelectedInBin {
                lo_gev: w[0],
                hi_gev: w[1],
                total: 0,
                rejected: 0,
            })
            .collect();
        let last = edges_gev[edges_gev.len() - 1];
        let mut kept = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            let pass = self.keep(e);
            if pass {
                kept.push(i);
            }
            let en = e.energy_gev as f64;
            let bin = per_energy
                .iter_mut()
                .find(|b| en >= b.lo_gev && (en < b.hi_gev || (en == last && b.hi_gev == last)));
            if let Some(b) = bin {
                b.total += 1;
                b.rejected += usize::from(!pass);
            }
        }
        let report = SelectionReport {
            min_hits: self.min_hits,
            total: events.len(),
            kept: kept.len(),
            rejected: events.len() - kept.len(),
            per_energy,
        };
        Ok((kept, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events with ≤ 5 hits are removed and counted in their energy bin.
    #[test]
    fn selection_removes_and_counts_events_with_few_hits() {
        let event = |e: f32, n: usize| {
            let mut h = rareml_io::tt::Hits::default();
            for k in 0..n {
                h.x_cm.push(0.01 * k as f32);
                h.y_cm.push(0.0);
                h.station.push(0);
                h.energy_gev.push(1e-4);
            }
            TtEvent {
                energy_gev: e,
                vertex_cm: [0.0; 3],
                distance_cm: -1.0,
                hits: h,
            }
        };
        let events = [
            event(2.0, 0),
            event(3.0, 5),
            event(4.0, 6),
            event(50.0, 3),
            event(100.0, 40),
        ];
        let (kept, r) = Selection::default()
            .apply(&events, &[0.0, 10.0, 100.0])
            .unwrap();
        assert_eq!(kept, vec![2, 4]);
        assert_eq!((r.total, r.kept, r.rejected, r.min_hits), (5, 2, 3, 6));
        let bins: Vec<(usize, usize)> =
            r.per_energy.iter().map(|b| (b.total, b.rejected)).collect();
        assert_eq!(
            bins,
            vec![(3, 2), (2, 1)],
            "E = 100 GeV falls in the last bin"
        );
        let loose = Selection { min_hits: 1 };
        assert_eq!(
            loose.apply(&events, &[0.0, 100.0]).unwrap().0,
            vec![1, 2, 3, 4]
        );
        assert!(Selection::default().apply(&events, &[5.0]).is_err());
        assert!(Selection::default().apply(&events, &[5.0, 1.0]).is_err());
    }

    #[test]
    fn maps_of_zero_or_absurd_size_are_refused() {
        for (pixel_cm, half) in [
            (1.0, [1e-12, 5.25]),
            (1e-4, [6.45, 5.25]),
            (0.07, [6.45, 1e-15]),
        ] {
            let cfg = HitMapConfig {
                pixel_cm,
                half_size_cm: half,
                ..Default::default()
            };
            let e = cfg.size().unwrap_err().to_string();
            assert!(e.contains("pixel_cm"), "{pixel_cm} {half:?}: {e}");
        }
        assert_eq!(HitMapConfig::default().size().unwrap(), (150, 185));
    }

    fn event(hits: &[(f32, f32, u8, f32)]) -> TtEvent {
        TtEvent {
            energy_gev: 10.0,
            vertex_cm: [0.0; 3],
            distance_cm: -1.0,
            hits: hits.iter().copied().collect(),
        }
    }

    #[test]
    fn ship_map_size() {
        assert_eq!(HitMapConfig::default().size().unwrap(), (150, 185));
        assert!(HitMapConfig {
            pixel_cm: 0.0,
            ..HitMapConfig::default()
        }
        .size()
        .is_err());
    }

    #[test]
    fn pixels_by_hand_and_outside_hits_reported() {
        let cfg = HitMapConfig {
            pixel_cm: 1.0,
            half_size_cm: [2.0, 1.0],
            weighting: Weighting::Count,
        };
        // 4 columns (x −2..2), 2 rows (y −1..1).
        let e = event(&[
            (-2.0, -1.0, 0, 0.1),
            (1.99, 0.5, 1, 0.2),
            (1.99, 0.5, 1, 0.3),
            (2.0, 0.0, 0, 0.4),
            (0.0, -1.5, 1, 0.5),
        ]);
        let (m, r) = hit_maps(&e, 2, &cfg).unwrap();
        assert_eq!(m.dim(), (2, 2, 4));
        assert_eq!(m[[0, 0, 0]], 1.0);
        assert_eq!(m[[1, 1, 3]], 2.0);
        assert_eq!(m.sum(), 3.0);
        assert_eq!(
            r,
            DigitiseReport {
                hits: 5,
                outside: 2
            }
        );
        let (m, _) = hit_maps(
            &e,
            2,
            &HitMapConfig {
                weighting: Weighting::Energy,
                ..cfg
            },
        )
        .unwrap();
        assert!((m[[1, 1, 3]] - 0.5).abs() < 1e-7);
        assert!(hit_maps(&e, 1, &cfg).is_err(), "station 1 with one map");
        assert!(hit_maps(&event(&[]), 2, &cfg).is_err());
        assert!(hit_maps(&event(&[(f32::NAN, 0.0, 0, 0.1)]), 2, &cfg).is_err());
    }

    #[test]
    fn coordinate_channels_as_coordconv() {
        let c = coordinate_channels(3, 5).unwrap();
        assert_eq!(c[[0, 0, 0]], -1.0);
        assert_eq!(c[[0, 2, 4]], 1.0);
        assert_eq!(c[[1, 1, 2]], 0.0);
        assert_eq!(c[[1, 0, 4]], 1.0);
        assert_eq!(c[[2, 0, 0]], 1.0);
        assert_eq!(c[[2, 1, 2]], 0.0);
        let x = Array4::<f32>::ones((2, 6, 3, 5));
        let y = add_coordinate_channels(x.view()).unwrap();
        assert_eq!(y.dim(), (2, 9, 3, 5));
        assert_eq!(y.slice(s![1, ..3, .., ..]), c);
        assert!(y.slice(s![.., 3.., .., ..]).iter().all(|&v| v == 1.0));
        assert!((unscale_energy(scale_energy(42.0)) - 42.0).abs() < 1e-12);
        assert_eq!(scale_energy(100.0), 7.0);
    }
}
