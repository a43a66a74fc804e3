//! Fast CPU kernels for [candle](https://github.com/huggingface/candle): the operations candle
//! lacks or runs slowly, each a `CustomOp` with its own backward, tested against brute-force
//! references, finite differences and PyTorch.
//!
//! - [`conv3d`] (candle has no 3D convolution) and [`conv2d`]: implicit-GEMM and direct
//!   (AVX-512) kernels, zero, circular or `same` padding per axis, any stride;
//! - [`depthwise_conv2d`] (`groups = C`) on 16-channel lane blocks;
//! - [`pool3d`], [`pool2d`], [`max_pool2d`], [`max_pool2d_padded`]: max and average pooling with a
//!   correct backward (candle's `max_pool2d` backward is wrong) and Keras' `same`, PyTorch's
//!   `ceil_mode` or PyTorch's zero padding;
//! - [`batch_norm`]: BatchNorm over channels with the activation ([`Act`]) fused into one pass;
//! - [`add_channel_bias`], [`scale_planes`] (squeeze-excitation), [`Act::apply`] (ReLU, SiLU);
//! - [`gradcheck::check_gradient`]: finite-difference checks of any candle op's gradient;
//! - [`alloc::BlockCache`]: a global-allocator wrapper that keeps freed large blocks, since
//!   candle allocates a fresh tensor per operation.
//!
//! The kernels take f32 and f64 CPU tensors; other devices (CUDA) and dtypes take a composition
//! of candle operations with the same semantics. Each kernel is compiled for AVX-512, AVX2 + FMA
//! and baseline x86-64 and chosen at run time ([`simd_level`]); `RAREML_SIMD=avx2` or `baseline`
//! caps the choice, to test or time the narrower builds on a wider CPU. The gemm crate behind
//! the im2col convolutions dispatches on its own ([`gemm_simd_level`]): its AVX-512 kernels come
//! with the default `gemm-avx512` feature, so an AVX-512 machine times an AVX2-only CPU with
//! `--no-default-features` and `RAREML_SIMD=avx2` together.
//!
//! ```
//! use candle_core::{Device, Tensor, Var};
//! use rareml_kernels::{conv3d, pool3d, Conv3dConfig, Pool3dConfig, PoolPadding};
//! let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 1, 9, 40, 40), &Device::Cpu)?)?;
//! let w = Var::from_tensor(&Tensor::randn(0f32, 0.1, (8, 1, 3, 3, 3), &Device::Cpu)?)?;
//! let y = conv3d(x.as_tensor(), w.as_tensor(), None, &Conv3dConfig::uniform(1, 1))?;
//! let y = pool3d(&y, &Pool3dConfig::max(2, PoolPadding::Same))?;
//! assert_eq!(y.dims(), &[2, 8, 5, 20, 20]);
//! let grads = y.sum_all()?.backward()?;
//! assert_eq!(grads.get(&w).unwrap().dims(), &[8, 1, 3, 3, 3]);
//! # Ok::<(), rareml_kernels::Error>(())
//! ```

#![warn(missing_docs)]

mod act;
pub mod alloc;
mod bias;
mod conv;
mod conv_direct;
mod conv_kernel;
mod cpu;
mod depthwise;
pub mod error;
pub mod gradcheck;
mod lanes;
mod norm;
mod pool;

pub use act::Act;
pub use bias::{add_channel_bias, scale_planes};
pub use conv::{conv2d, conv3d, conv3d_reference, out_len, pad_axis, Conv3dConfig, Pad};
pub use cpu::{gemm_simd_level, simd_level, simd_mismatch};
pub use depthwise::depthwise_conv2d;
pub use error::{Error, Result};
pub use norm::{batch_norm, batch_norm_supported, BatchStatistics, Statistics};
pub use pool::{
    max_pool2d, max_pool2d_padded, pool2d, pool3d, Pool3dConfig, PoolKind, PoolPadding,
};

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
