//! Neural networks (stub in the lead's mirror build).
/// Errors of the network layer.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// An error reported by candle.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
}
impl NnError {
    /// Whether the error is caused by the user's input.
    pub fn is_user_error(&self) -> bool {
        false
    }
}
