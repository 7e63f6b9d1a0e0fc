//! The model side of inputs named on the command line: the model and data
//! set of a single-measurement command, the predicted class of an input and
//! the target class of a pair. Naming and reading inputs is
//! [`ismc::data::input`].

use ismc::data::input::Input;
use ismc::data::Dataset;
use ismc::nn::{Classifier, Network};

/// The model and data set of a single-measurement command. The data set
/// gives an untrained `untrained:ARCH:INIT:SEED` network its input shape and
/// class count, and the items that indices name; a named or stored model
/// keeps its own shape (e.g. an ImageNet model with `.npy` inputs), and
/// [`resolve`] refuses indices into a data set of another shape.
pub fn load_model_and_data(model: &str, data: &str) -> Result<(Network, Dataset), ismc::Error> {
    let data = ismc::data::load(data)?;
    let net = ismc::nn::zoo::load_spec(model, data.item_shape(), data.classes())?;
    Ok((net, data))
}

/// The model's predicted class of one input.
pub fn predicted_class(model: &Network, x: &[f32]) -> Result<u32, ismc::Error> {
    Ok(model.predict_flat(x, 1)?[0])
}

/// The target class of a pair: `--class` when given, else the shared label
/// (data items) or predicted class (files) of both endpoints; refuses
/// endpoints whose classes differ, naming both.
pub fn pair_class(
    model: &Network,
    a: &Input,
    c: &Input,
    class: Option<u32>,
) -> Result<u32, ismc::Error> {
    let classes = model.spec().classes;
    if let Some(y) = class {
        if y as usize >= classes {
            return Err(ismc::Error::invalid(
                "--class",
                y,
                format!("expected a class id below {classes}"),
            ));
        }
        return Ok(y);
    }
    let of = |x: &Input| -> Result<(u32, &'static str), ismc::Error> {
        match x.label {
            Some(l) => Ok((l, "label")),
            None => Ok((predicted_class(model, &x.values)?, "predicted class")),
        }
    };
    let ((ya, wa), (yc, wc)) = (of(a)?, of(c)?);
    if ya != yc {
        return Err(ismc::Error::invalid(
            "--pair",
            format!("{},{}", a.name, c.name),
            format!(
                "the endpoints have different target classes ({wa} {ya} vs {wc} {yc}); \
                 pass --class Y to measure both against class Y"
            ),
        ));
    }
    Ok(ya)
}
