//! The element types a grid may have (the header itself is [`crate::npy`]).

/// The element types a grid may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dtype {
    Bool,
    U8,
}

impl Dtype {
    pub(super) fn from_descr(descr: &str) -> std::result::Result<Self, String> {
        match descr.trim_start_matches(['|', '<', '>', '=']) {
            "b1" | "?" => Ok(Dtype::Bool),
            "u1" | "B" => Ok(Dtype::U8),
            _ => {
                let kind = match descr
                    .trim_start_matches(['|', '<', '>', '='])
                    .chars()
                    .next()
                {
                    Some('f' | 'e' | 'd' | 'g') => "floating-point",
                    Some('i' | 'b' | 'h' | 'l' | 'q') => "signed integer",
                    Some('u' | 'H' | 'I' | 'L' | 'Q') => "wide unsigned integer",
                    Some('c' | 'F' | 'D' | 'G') => "complex",
                    Some('U' | 'S' | 'a') => "string",
                    Some('O') => "Python object",
                    Some('M' | 'm') => "date/time",
                    _ => "unsupported",
                };
                Err(format!(
                    "the array has dtype '{descr}' ({kind}); convert it first, e.g. np.save(path, grid.astype(bool))"
                ))
            }
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Dtype::Bool => "bool",
            Dtype::U8 => "uint8",
        }
    }
}
