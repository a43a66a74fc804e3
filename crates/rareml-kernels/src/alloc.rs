//! A global-allocator wrapper that keeps freed large blocks for reuse.
//!
//! candle allocates a fresh buffer for every tensor operation; a training step of these networks
//! allocates and frees gigabytes of activation-sized blocks. Allocators hand such blocks back to the
//! kernel (glibc at once, mimalloc after a delay or as whole huge segments), so each new buffer is
//! paid again in page faults and page clearing: `perf` showed 10–22 % of a NEWSnet training step in
//! the kernel's `clear_page_erms`. [`BlockCache`] keeps freed blocks of ≥ 256 KiB in size classes
//! (eight per power of two, so a block is at most 12.5 % larger than asked for) up to a byte limit
//! and hands them out again; smaller ones go straight to the inner allocator.
//!
//! ```no_run
//! #[global_allocator]
//! static ALLOC: rareml_kernels::alloc::BlockCache<std::alloc::System> =
//!     rareml_kernels::alloc::BlockCache::new(std::alloc::System, 8 << 30);
//! ```

use std::alloc::{GlobalAlloc, Layout};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// Smallest block kept, in bytes (2¹⁸).
const MIN_EXP: u32 = 18;
/// Largest block kept is just under 2^MAX_EXP bytes (1 TiB).
const MAX_EXP: u32 = 40;
/// Size classes per power of two.
const STEPS: usize = 8;
const CLASSES: usize = (MAX_EXP - MIN_EXP) as usize * STEPS;
/// Blocks kept per size class.
const SLOTS: usize = 64;
/// Alignment of every block the cache manages (page: gemm asks for page-aligned packing
/// buffers); requests asking for more bypass the cache.
const ALIGN: usize = 4096;

/// Wraps the allocator `A`, keeping freed blocks of ≥ 256 KiB (up to `limit` bytes in total) for
/// reuse.
pub struct BlockCache<A> {
    inner: A,
    limit: usize,
    cached: AtomicUsize,
    slots: [[AtomicPtr<u8>; SLOTS]; CLASSES],
}

/// Size class of a request: `(class index, bytes allocated)`, or None for blocks the cache
/// does not manage.
fn class(layout: Layout) -> Option<(usize, usize)> {
    let size = layout.size();
    if size < 1 << MIN_EXP || layout.align() > ALIGN {
        return None;
    }
    let e = usize::BITS - 1 - size.leading_zeros();
    let step = (1usize << e) / STEPS;
    let j = size.div_ceil(step) - STEPS;
    let (e, j) = if j == STEPS { (e + 1, 0) } else { (e, j) };
    if e >= MAX_EXP {
        return None;
    }
    Some((
        (e - MIN_EXP) as usize * STEPS + j,
        (1usize << e) + j * ((1usize << e) / STEPS),
    ))
}

impl<A> BlockCache<A> {
    /// Caches over `inner`, holding at most `limit` bytes of freed blocks.
    pub const fn new(inner: A, limit: usize) -> Self {
        Self {
            inner,
            limit,
            cached: AtomicUsize::new(0),
            slots: [const { [const { AtomicPtr::new(ptr::null_mut()) }; SLOTS] }; CLASSES],
        }
    }

    /// Bytes of freed blocks currently held.
    pub fn cached_bytes(&self) -> usize {
        self.cached.load(Ordering::Relaxed)
    }

    fn take(&self, class: usize, bytes: usize) -> *mut u8 {
        for slot in &self.slots[class] {
            if !slot.load(Ordering::Relaxed).is_null() {
                let p = slot.swap(ptr::null_mut(), Ordering::Acquire);
                if !p.is_null() {
                    self.cached.fetch_sub(bytes, Ordering::Relaxed);
                    return p;
                }
            }
        }
        ptr::null_mut()
    }

    /// Keeps `p`; false when the class is full or the limit would be passed.
    fn put(&self, class: usize, bytes: usize, p: *mut u8) -> bool {
        if self.cached.fetch_add(bytes, Ordering::Relaxed) + bytes > self.limit {
            self.cached.fetch_sub(bytes, Ordering::Relaxed);
            return false;
        }
        for slot in &self.slots[class] {
            if slot
                .compare_exchange(ptr::null_mut(), p, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                return true;
            }
        }
        self.cached.fetch_sub(bytes, Ordering::Relaxed);
        false
    }
}

// SAFETY: blocks handed out are either fresh from `inner` with the class layout (size ≥ the
// request, alignment ALIGN ≥ the request's) or such blocks returned earlier and not in use;
// every block of a class is given back to `inner` with the class layout it was allocated with.
unsafe impl<A: GlobalAlloc> GlobalAlloc for BlockCache<A> {
    /// # Safety
    ///
    /// As [`GlobalAlloc::alloc`].
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class(layout) {
            None => self.inner.alloc(layout),
            Some((c, bytes)) => {
                let p = self.take(c, bytes);
                if p.is_null() {
                    self.inner
                        .alloc(Layout::from_size_align_unchecked(bytes, ALIGN))
                } else {
                    p
                }
            }
        }
    }

    /// # Safety
    ///
    /// As [`GlobalAlloc::alloc_zeroed`].
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match class(layout) {
            None => self.inner.alloc_zeroed(layout),
            Some((c, bytes)) => {
                let p = self.take(c, bytes);
                if p.is_null() {
                    self.inner
                        .alloc_zeroed(Layout::from_size_align_unchecked(bytes, ALIGN))
                } else {
                    ptr::write_bytes(p, 0, layout.size());
                    p
                }
            }
        }
    }

    /// # Safety
    ///
    /// As [`GlobalAlloc::dealloc`].
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        match class(layout) {
            None => self.inner.dealloc(p, layout),
            Some((c, bytes)) => {
                if !self.put(c, bytes, p) {
                    self.inner
                        .dealloc(p, Layout::from_size_align_unchecked(bytes, ALIGN))
                }
            }
        }
    }

    /// # Safety
    ///
    /// As [`GlobalAlloc::realloc`].
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = Layout::from_size_align_unchecked(new_size, layout.align());
        match (class(layout), class(new)) {
            (None, None) => self.inner.realloc(p, layout, new_size),
            (Some((a, _)), Some((b, _))) if a == b => p,
            _ => {
                let q = self.alloc(new);
                if !q.is_null() {
                    ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
                    self.dealloc(p, layout);
                }
                q
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::System;

    #[test]
    fn classes_round_up_by_at_most_an_eighth() {
        assert_eq!(class(Layout::from_size_align(1000, 8).unwrap()), None);
        assert_eq!(
            class(Layout::from_size_align(1 << 20, 8).unwrap()),
            Some((16, 1 << 20))
        );
        assert_eq!(class(Layout::from_size_align(1 << 21, 8192).unwrap()), None);
        let mut last = 0;
        for size in (1usize << 20..1 << 26).step_by(4093) {
            let (c, bytes) = class(Layout::from_size_align(size, 16).unwrap()).unwrap();
            assert!(
                bytes >= size && bytes - size <= size / 8,
                "{size} → {bytes}"
            );
            assert!(c >= last && c < CLASSES);
            last = c;
            // The class's size maps to the same class.
            assert_eq!(
                class(Layout::from_size_align(bytes, 16).unwrap()),
                Some((c, bytes))
            );
        }
    }

    #[test]
    fn freed_blocks_are_reused_within_the_limit() {
        let cache = BlockCache::new(System, 3 << 20);
        let l = Layout::from_size_align(1 << 20, 8).unwrap();
        unsafe {
            let a = cache.alloc(l);
            a.write_bytes(7, l.size());
            cache.dealloc(a, l);
            assert_eq!(cache.cached_bytes(), 1 << 20);
            // The same block again, zeroed on request.
            let b = cache.alloc_zeroed(l);
            assert_eq!(a, b);
            assert!(std::slice::from_raw_parts(b, l.size())
                .iter()
                .all(|&v| v == 0));
            assert_eq!(cache.cached_bytes(), 0);
            // Over the limit: the fourth MiB goes back to the system.
            let blocks: Vec<_> = (0..4).map(|_| cache.alloc(l)).collect();
            for &p in &blocks {
                cache.dealloc(p, l);
            }
            assert_eq!(cache.cached_bytes(), 3 << 20);
            // Growing within a class keeps the block; across classes it copies.
            let p = cache.alloc(l);
            p.write_bytes(3, 16);
            let q = cache.realloc(p, l, (1 << 20) + 100);
            assert_ne!(p, q);
            assert_eq!(std::slice::from_raw_parts(q, 16), &[3; 16]);
            let nl = Layout::from_size_align((1 << 20) + 100, 8).unwrap();
            assert_eq!(cache.realloc(q, nl, (1 << 20) + 200), q);
            cache.dealloc(q, Layout::from_size_align((1 << 20) + 200, 8).unwrap());
            for _ in 0..4 {
                let p = cache.alloc(l);
                cache.dealloc(p, Layout::from_size_align(1 << 20, 8).unwrap());
            }
        }
    }
}
