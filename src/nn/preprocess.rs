//! Input normalisation as the first, differentiable layer of a network.
//!
//! Every ismc model takes images in [0, 1] (RGB, `[n, 3, h, w]`), so that
//! ranges, clipping, paths and attacks work the same for every model. A
//! model trained on other pixel conventions (Caffe's BGR minus mean in
//! 0..255, TensorFlow's `(x − 127)/128`) starts with a [`ChannelAffine`]:
//!
//! ```text
//! y[:, c] = scale[c] · x[:, source[c]] + shift[c]
//! ```
//!
//! which reorders channels and maps the range exactly, inside the autograd
//! graph, so input gradients are with respect to the [0, 1] image.

use candle_core::{DType, Device, Result, Tensor};

/// A per-channel affine map with an optional channel reordering.
#[derive(Debug, Clone)]
pub struct ChannelAffine {
    /// Indices of the source channel of each output channel; `None` keeps
    /// the order.
    source: Option<Tensor>,
    /// `[1, c, 1, 1]`.
    scale: Tensor,
    /// `[1, c, 1, 1]`.
    shift: Tensor,
}

impl ChannelAffine {
    /// `y[:, c] = scale[c] · x[:, source[c]] + shift[c]`; `source = None`
    /// for the identity order. Constants are made in `dtype` on `device`.
    pub fn new(
        source: Option<&[u32]>,
        scale: &[f64],
        shift: &[f64],
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        let c = scale.len();
        if shift.len() != c || source.is_some_and(|s| s.len() != c) {
            candle_core::bail!("ChannelAffine: source, scale and shift need one entry per channel");
        }
        let col =
            |v: &[f64]| Tensor::from_slice(v, (1, c, 1, 1), device).and_then(|t| t.to_dtype(dtype));
        Ok(ChannelAffine {
            source: source
                .map(|s| Tensor::from_slice(s, c, device))
                .transpose()?,
            scale: col(scale)?,
            shift: col(shift)?,
        })
    }

    /// Caffe's convention for RGB input in [0, 1]: reverse to BGR, scale to
    /// 0..255 and subtract the per-channel mean `mean_bgr` (in 0..255, B
    /// first).
    pub fn caffe_bgr(mean_bgr: [f64; 3], dtype: DType, device: &Device) -> Result<Self> {
        let shift: Vec<f64> = mean_bgr.iter().map(|m| -m).collect();
        ChannelAffine::new(Some(&[2, 1, 0]), &[255.0; 3], &shift, dtype, device)
    }

    /// `(255·x − mean)/std` on every channel of a `channels`-channel input
    /// in [0, 1].
    pub fn uniform(
        channels: usize,
        mean: f64,
        std: f64,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        ChannelAffine::new(
            None,
            &vec![255.0 / std; channels],
            &vec![-mean / std; channels],
            dtype,
            device,
        )
    }

    /// torchvision's `transforms.Normalize(mean, std)` of a [0, 1] input:
    /// `(x[:, c] − mean[c]) / std[c]` (e.g. MNIST's `(0.1307,)`,
    /// `(0.3081,)`), as scale `1/std` and shift `−mean/std`.
    pub fn normalize(mean: &[f64], std: &[f64], dtype: DType, device: &Device) -> Result<Self> {
        if mean.len() != std.len() || std.iter().any(|&s| s <= 0.0 || !s.is_finite()) {
            candle_core::bail!("ChannelAffine::normalize: one positive std per mean");
        }
        let scale: Vec<f64> = std.iter().map(|s| 1.0 / s).collect();
        let shift: Vec<f64> = mean.iter().zip(std).map(|(m, s)| -m / s).collect();
        ChannelAffine::new(None, &scale, &shift, dtype, device)
    }

    /// Applies the map to `x` `[n, c, h, w]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = match &self.source {
            Some(idx) => x.index_select(idx, 1)?,
            None => x.clone(),
        };
        x.broadcast_mul(&self.scale)?.broadcast_add(&self.shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Var;

    #[test]
    fn caffe_map_and_its_gradient() {
        // One pixel, RGB = (0.2, 0.4, 1.0).
        let x = Var::from_tensor(
            &Tensor::from_vec(vec![0.2f64, 0.4, 1.0], (1, 3, 1, 1), &Device::Cpu).unwrap(),
        )
        .unwrap();
        let p =
            ChannelAffine::caffe_bgr([103.939, 116.779, 123.68], DType::F64, &Device::Cpu).unwrap();
        let y = p.forward(&x).unwrap();
        let got = y.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let want = [255.0 - 103.939, 0.4 * 255.0 - 116.779, 0.2 * 255.0 - 123.68];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
        }
        // d(B + 2G + 3R)/d(R, G, B) = 255 · (3, 2, 1).
        let wts = Tensor::from_vec(vec![1f64, 2.0, 3.0], (1, 3, 1, 1), &Device::Cpu).unwrap();
        let g = (y * wts).unwrap().sum_all().unwrap().backward().unwrap();
        let gx = g.get(x.as_tensor()).unwrap().flatten_all().unwrap();
        assert_eq!(gx.to_vec1::<f64>().unwrap(), [765.0, 510.0, 255.0]);
    }

    #[test]
    fn normalize_is_torchvision_normalize() {
        let x = Tensor::from_vec(vec![0.0f64, 0.1307, 1.0], (1, 1, 1, 3), &Device::Cpu).unwrap();
        let p = ChannelAffine::normalize(&[0.1307], &[0.3081], DType::F64, &Device::Cpu).unwrap();
        let y = p.forward(&x).unwrap().flatten_all().unwrap();
        let y = y.to_vec1::<f64>().unwrap();
        let want = [-0.1307 / 0.3081, 0.0, (1.0 - 0.1307) / 0.3081];
        for (g, w) in y.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{y:?} vs {want:?}");
        }
        assert!(ChannelAffine::normalize(&[0.5], &[0.0], DType::F64, &Device::Cpu).is_err());
    }

    #[test]
    fn uniform_map_is_tensorflow_lite_normalisation() {
        let x = Tensor::from_vec(vec![0.0f32, 1.0], (1, 2, 1, 1), &Device::Cpu).unwrap();
        let p = ChannelAffine::uniform(2, 127.0, 128.0, DType::F32, &Device::Cpu).unwrap();
        let y = p.forward(&x).unwrap().flatten_all().unwrap();
        let y = y.to_vec1::<f32>().unwrap();
        assert!((y[0] + 127.0 / 128.0).abs() < 1e-6 && (y[1] - 1.0).abs() < 1e-6);
    }
}
