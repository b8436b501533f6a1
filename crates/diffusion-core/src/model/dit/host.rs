//! Host memory of `flex` tensors for the fused CPU operations: row-major f32 views in, new
//! tensors out.

use burn::backend::flex::FlexTensor;
use burn::prelude::TensorData;

/// A flex tensor laid out row-major (itself when it already is: no copy).
pub(crate) fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.is_contiguous() && t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// The f32 values of a [`contiguous`] flex tensor.
pub(crate) fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32")
}

/// A flex tensor of `shape` holding `values` (row-major).
pub(crate) fn tensor(values: Vec<f32>, shape: impl Into<Vec<usize>>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}
