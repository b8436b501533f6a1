//! Small helpers to move host data into tensors and back.

use burn::prelude::*;

/// Token ids [B, L] from a row-major host buffer.
pub fn ids_tensor(ids: &[i64], batch: usize, len: usize, device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(ids.to_vec(), [batch, len]), device)
}

/// A float vector [n] from f64 host values (stored as f32).
pub fn vec_tensor(values: &[f64], device: &Device) -> Tensor<1> {
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

/// Float tensor of any rank from f32 host values.
pub fn float_tensor<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Host copy of a float tensor as f32.
pub fn to_vec_f32<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("float tensor converts to f32")
}

/// Host copy of an int tensor as i64.
pub fn to_vec_i64<const D: usize>(t: Tensor<D, Int>) -> Vec<i64> {
    t.into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .expect("int tensor converts to i64")
}

/// Broadcast a per-sequence value [B] to [B, 1, 1].
pub fn per_batch3(v: Tensor<1>) -> Tensor<3> {
    let [b] = v.dims();
    v.reshape([b, 1, 1])
}

/// Broadcast a per-sequence value [B] to [B, 1].
pub fn per_batch2(v: Tensor<1>) -> Tensor<2> {
    let [b] = v.dims();
    v.reshape([b, 1])
}

/// Gather the vocab entry `idx` of each position: [B, L, N] × [B, L] → [B, L].
pub fn gather_vocab(t: Tensor<3>, idx: Tensor<2, Int>) -> Tensor<2> {
    let [b, l, _] = t.dims();
    t.gather(2, idx.reshape([b, l, 1])).reshape([b, l])
}

/// One-hot row at the mask id, shaped [1, 1, N] to broadcast over [B, L, N].
pub fn mask_column(mask_id: usize, n: usize, device: &Device) -> Tensor<3> {
    Tensor::<1, Int>::from_data(TensorData::new(vec![mask_id as i64], [1]), device)
        .one_hot::<2>(n)
        .float()
        .reshape([1, 1, n])
}
