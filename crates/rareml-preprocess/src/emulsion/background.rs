//! Per-image background of the polarisation images — median (the paper) or mode (the public code)
//! — from byte histograms when the pixels are whole numbers (raw uint8 data), by selection
//! otherwise, and its subtraction.

use super::*;

/// Per-image background estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Background {
    /// Median of the image's pixels (NEWSdm paper; numpy's median: mean of the two middle values).
    Median,
    /// Most frequent pixel value, the smallest on ties (public code, `scipy.stats.mode`).
    Mode,
}

/// Counts of the values 0..=255 when every pixel is such an integer (raw ADC images), else `None`.
fn byte_histogram(img: ArrayView2<'_, f32>) -> Option<[u32; 256]> {
    let mut h = [[0u32; 256]; 4];
    let bytes = match img.as_slice() {
        Some(sl) => count_bytes(sl, &mut h),
        None => count_bytes(&img.iter().copied().collect::<Vec<_>>(), &mut h),
    };
    bytes.then(|| merge_histograms(&h))
}

/// Adds `src` to four interleaved byte histograms (runs of equal values would otherwise chain
/// every increment on the previous one through memory); false when some value is not a byte
/// (the histograms are then incomplete).
fn count_bytes<T: Pixel>(src: &[T], h: &mut [[u32; 256]; 4]) -> bool {
    let mut bytes = true;
    let mut quads = src.chunks_exact(4);
    for q in &mut quads {
        for (v, hist) in q.iter().zip(h.iter_mut()) {
            match v.to_byte() {
                Some(b) => hist[b as usize] += 1,
                None => bytes = false,
            }
        }
    }
    for v in quads.remainder() {
        match v.to_byte() {
            Some(b) => h[0][b as usize] += 1,
            None => bytes = false,
        }
    }
    bytes
}

/// The sum of four interleaved histograms.
pub(super) fn merge_histograms(h: &[[u32; 256]; 4]) -> [u32; 256] {
    let mut sum = h[0];
    for other in &h[1..] {
        sum.iter_mut().zip(other).for_each(|(s, o)| *s += o);
    }
    sum
}

/// Converts `src` into `dst` and counts its byte values (see [`count_bytes`]).
pub(super) fn convert_and_count<T: Pixel>(
    src: &[T],
    dst: &mut [f32],
    h: &mut [[u32; 256]; 4],
) -> bool {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = s.to_f32();
    }
    count_bytes(src, h)
}

/// Asks the CPU to start loading every row of `images` now: the rows of a crop are short, so
/// reading them one after the other from memory would wait on each in turn.
pub(super) fn prefetch_rows<T>(images: &ArrayView3<'_, T>) {
    #[cfg(target_arch = "x86_64")]
    for img in images.outer_iter() {
        for row in img.outer_iter() {
            let first = row.as_ptr();
            let last = first.wrapping_offset((row.len() as isize - 1) * row.strides()[0]);
            for p in [first, last] {
                // SAFETY: a prefetch is a hint: it never faults and reads nothing into the program.
                unsafe {
                    std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                        p as *const i8,
                    )
                };
            }
        }
    }
}

/// The value of rank `k` (0-based) in a byte histogram.
fn hist_rank(h: &[u32; 256], k: usize) -> f32 {
    let mut seen = 0usize;
    for (v, &c) in h.iter().enumerate() {
        seen += c as usize;
        if seen > k {
            return v as f32;
        }
    }
    255.0
}

/// Median (numpy semantics) of the `n > 0` values counted in a byte histogram.
fn hist_median(h: &[u32; 256], n: usize) -> f32 {
    if n % 2 == 1 {
        hist_rank(h, n / 2)
    } else {
        (hist_rank(h, n / 2 - 1) + hist_rank(h, n / 2)) / 2.0
    }
}

/// Most frequent value of a byte histogram; ties go to the smallest value.
fn hist_mode(h: &[u32; 256]) -> f32 {
    // max_by_key keeps the last maximum: scan from the top so ties resolve to the smallest value.
    let (v, _) = h
        .iter()
        .enumerate()
        .rev()
        .max_by_key(|(_, &c)| c)
        .expect("256 bins");
    v as f32
}

/// Median of an image (numpy semantics); O(n) by histogram for integer images in 0..=255.
pub fn image_median(img: ArrayView2<'_, f32>) -> f32 {
    let n = img.len();
    if n > 0 {
        if let Some(h) = byte_histogram(img) {
            return hist_median(&h, n);
        }
    }
    let mut v: Vec<f32> = img.iter().copied().collect();
    let n = v.len();
    if n == 0 {
        return f32::NAN;
    }
    let mid = n / 2;
    let (_, &mut upper, _) = v.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
    if n % 2 == 1 {
        upper
    } else {
        let lower = v[..mid].iter().copied().fold(f32::NEG_INFINITY, f32::max);
        ((lower as f64 + upper as f64) / 2.0) as f32
    }
}

/// Most frequent value of an image; ties go to the smallest value (`scipy.stats.mode`).
pub fn image_mode(img: ArrayView2<'_, f32>) -> f32 {
    if let Some(h) = byte_histogram(img) {
        return hist_mode(&h);
    }
    let mut v: Vec<f32> = img.iter().copied().collect();
    v.sort_unstable_by(|a, b| a.total_cmp(b));
    let (mut best, mut best_n) = (f32::NAN, 0usize);
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j < v.len() && v[j] == v[i] {
            j += 1;
        }
        if j - i > best_n {
            best = v[i];
            best_n = j - i;
        }
        i = j.max(i + 1);
    }
    best
}

impl Background {
    /// The background of one image.
    pub fn estimate(self, img: ArrayView2<'_, f32>) -> f32 {
        match self {
            Background::Median => image_median(img),
            Background::Mode => image_mode(img),
        }
    }

    /// The background of the `n > 0` byte values counted in `h`.
    pub(super) fn of_histogram(self, h: &[u32; 256], n: usize) -> f32 {
        match self {
            Background::Median => hist_median(h, n),
            Background::Mode => hist_mode(h),
        }
    }
}

/// Subtracts each polarisation image's own background: `(P, H, W)` in, `(P, H, W)` out.
pub fn subtract_background(images: ArrayView3<'_, f32>, mode: Background) -> Array3<f32> {
    let mut out = images.to_owned();
    for mut img in out.outer_iter_mut() {
        let b = mode.estimate(img.view());
        img.mapv_inplace(|v| v - b);
    }
    out
}
