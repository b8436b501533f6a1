//! Plots for run directories and sweeps, written as SVG and PNG with `plotters`: line plots
//! (loss and validation curves, metrics over γ or steps) and scatter plots (Pareto fronts).
//! The font (DejaVu Sans, see `assets/DejaVuSans-LICENSE.txt`) is embedded, so no system fonts
//! are needed.

use crate::error::{CoreError, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const SIZE: (u32, u32) = (800, 560);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded TTF is valid; a failure would only leave text out of the plots.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// A named set of (x, y) points; `labels` annotate scatter points (e.g. "γ=2").
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64, String)>,
}

impl Series {
    pub fn line(name: &str, xy: impl IntoIterator<Item = (f64, f64)>) -> Self {
        Self {
            name: name.to_string(),
            points: xy.into_iter().map(|(x, y)| (x, y, String::new())).collect(),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Lines,
    Scatter,
}

fn range(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in v.filter(|x| x.is_finite()) {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-6 * hi.abs().max(1.0));
    (lo - pad, hi + pad)
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    kind: Kind,
) -> std::result::Result<(), String> {
    let e = |x: &dyn std::fmt::Debug| format!("{x:?}");
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let (x0, x1) = range(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let (y0, y1) = range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    // Headroom for the legend in the upper left, so that it covers no point: the points keep
    // the lower part of the plot, the legend (about 22 px per series) the band above them.
    let legend = ((22.0 * series.len() as f64 + 20.0) / 420.0).min(0.6);
    let y1 = y0 + (y1 - y0) / (1.0 - legend);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|x| e(&x))?;
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|p| (p.0, p.1))
            .collect();
        let style = ShapeStyle::from(color).stroke_width(2);
        let anno = chart
            .draw_series(LineSeries::new(pts.clone(), style))
            .map_err(|x| e(&x))?;
        anno.label(s.name.clone()).legend(move |(x, y)| {
            PathElement::new(
                vec![(x, y), (x + 18, y)],
                ShapeStyle::from(color).stroke_width(2),
            )
        });
        if kind == Kind::Scatter {
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(|x| e(&x))?;
            chart
                .draw_series(s.points.iter().filter(|p| !p.2.is_empty()).map(|p| {
                    EmptyElement::at((p.0, p.1))
                        + Text::new(p.2.clone(), (7, -16), ("sans-serif", 13).into_font())
                }))
                .map_err(|x| e(&x))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))
}

fn render(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    kind: Kind,
) -> Result<()> {
    register_font();
    if let Some(parent) = stem.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| CoreError::io(parent, e))?;
    }
    let svg = stem.with_extension("svg");
    let plot_err = |p: &Path, m: String| CoreError::io(p, std::io::Error::other(m));
    let mut svg_text = String::new();
    draw(
        SVGBackend::with_string(&mut svg_text, SIZE).into_drawing_area(),
        title,
        x_label,
        y_label,
        series,
        kind,
    )
    .map_err(|m| plot_err(&svg, m))?;
    crate::atomic_file::write_atomic(&svg, svg_text.as_bytes())?;
    let png = stem.with_extension("png");
    let mut buf = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    draw(
        BitMapBackend::with_buffer(&mut buf, SIZE).into_drawing_area(),
        title,
        x_label,
        y_label,
        series,
        kind,
    )
    .map_err(|m| plot_err(&png, m))?;
    let img = image::RgbImage::from_raw(SIZE.0, SIZE.1, buf)
        .ok_or_else(|| plot_err(&png, "bitmap size mismatch".into()))?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| plot_err(&png, e.to_string()))?;
    crate::atomic_file::write_atomic(&png, bytes.get_ref())
}

/// Line plot to `<stem>.svg` and `<stem>.png`.
pub fn lines(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    render(stem, title, x_label, y_label, series, Kind::Lines)
}

/// Scatter plot with point labels (joined in order) to `<stem>.svg` and `<stem>.png`.
pub fn scatter(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    render(stem, title, x_label, y_label, series, Kind::Scatter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_svg_and_png() {
        let dir = std::env::temp_dir().join(format!("gdd-plot-{}", std::process::id()));
        let s = Series::line("loss", (0..20).map(|i| (i as f64, 1.0 / (1.0 + i as f64))));
        lines(&dir.join("curve"), "loss", "step", "nats", &[s]).unwrap();
        let svg = std::fs::read_to_string(dir.join("curve.svg")).unwrap();
        assert!(svg.contains("<svg") && svg.contains("loss"));
        let png = image::open(dir.join("curve.png")).unwrap();
        assert_eq!((png.width(), png.height()), SIZE);
        // Something other than the white background was drawn.
        assert!(png.to_rgb8().pixels().any(|p| p.0 != [255, 255, 255]));
        std::fs::remove_dir_all(&dir).ok();
    }
}
