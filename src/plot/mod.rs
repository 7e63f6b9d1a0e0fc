//! Figures (PNG + SVG with an embedded font), one figure type per file. Plots
//! read only stored results.
