//! The PandaX-III image maker and the SHiP TT hit-map maker over arbitrary events and detector
//! constants (the fields a file supplies): an image or an error, never a panic. The image sizes,
//! a user's configuration, stay small so that runs are fast.
#![no_main]
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use ndarray::Array2;
use rareml_io::tpc::{EventLabel, Readout, Signals, StripAxis, TpcEvent, TpcMeta};
use rareml_io::tt::{Hits, TtEvent};
use rareml_preprocess::tpc::{event_image, TpcImageConfig};
use rareml_preprocess::tt::{hit_maps, HitMapConfig, Weighting};

fn float(u: &mut Unstructured<'_>) -> Result<f64> {
    // Mostly ordinary values, sometimes any bit pattern (NaN, ±inf, subnormals, huge).
    Ok(if u.ratio(1, 4)? {
        f64::from_bits(u.arbitrary()?)
    } else {
        u.int_in_range(-2000i32..=2000)? as f64 / 8.0
    })
}

fn tpc(u: &mut Unstructured<'_>) -> Result<()> {
    let strips = u.int_in_range(1usize..=16)?;
    let ids: Vec<i32> = (0..strips as i32).collect();
    let axes = (0..strips)
        .map(|_| {
            Ok(if u.arbitrary()? {
                StripAxis::X
            } else {
                StripAxis::Y
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let pos = (0..strips)
        .map(|_| Ok(float(u)? as f32))
        .collect::<Result<Vec<_>>>()?;
    let Ok(readout) = Readout::new(ids, axes, pos) else {
        return Ok(());
    };
    let meta = TpcMeta {
        sampling_ns: float(u)?,
        drift_velocity_mm_per_us: float(u)?,
        pitch_mm: float(u)?,
    };
    let t = u.int_in_range(1usize..=64)?;
    let s = u.int_in_range(0usize..=8)?;
    let strip_id = (0..s)
        .map(|_| u.int_in_range(-2i32..=strips as i32 + 1))
        .collect::<Result<Vec<_>>>()?;
    let samples = (0..s * t)
        .map(|_| u.arbitrary::<i16>())
        .collect::<Result<Vec<_>>>()?;
    let event = TpcEvent {
        id: 0,
        label: EventLabel::Unknown,
        energy_kev: None,
        vertex_mm: None,
        signals: Signals {
            strip_id,
            samples: Array2::from_shape_vec((s, t), samples).unwrap(),
        },
    };
    let cfg = TpcImageConfig {
        pixel_mm: float(u)?,
        size: u.int_in_range(1usize..=32)?,
        upsample: u.int_in_range(1usize..=2)?,
        baseline_samples: u.int_in_range(0usize..=70)?,
        threshold_adc: float(u)? as f32,
        flips: false,
    };
    let flip = (u.arbitrary()?, u.arbitrary()?);
    let _ = event_image(&event, &readout, &meta, &cfg, flip);
    Ok(())
}

fn tt(u: &mut Unstructured<'_>) -> Result<()> {
    let n = u.int_in_range(0usize..=32)?;
    let mut hits = Hits::default();
    for _ in 0..n {
        hits.x_cm.push(float(u)? as f32);
        hits.y_cm.push(float(u)? as f32);
        hits.station.push(u.arbitrary()?);
        hits.energy_gev.push(float(u)? as f32);
    }
    let event = TtEvent {
        energy_gev: 1.0,
        vertex_cm: [0.0; 3],
        distance_cm: 0.0,
        hits,
    };
    let cfg = HitMapConfig {
        pixel_cm: float(u)?.abs().max(0.05),
        half_size_cm: [float(u)?.clamp(-10.0, 10.0), float(u)?.clamp(-10.0, 10.0)],
        weighting: if u.arbitrary()? {
            Weighting::Count
        } else {
            Weighting::Energy
        },
    };
    let stations = u.int_in_range(0usize..=8)?;
    let _ = hit_maps(&event, stations, &cfg);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = if u.arbitrary().unwrap_or(false) {
        tpc(&mut u)
    } else {
        tt(&mut u)
    };
});
