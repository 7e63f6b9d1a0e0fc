//! Labelling (stub in the lead mirror).
