//! [`line_chart`]: PNG line charts drawn in-process (plotters' bitmap backend, text with
//! ab_glyph and the DejaVu Sans font compiled into the binary: no fontconfig or freetype).

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::BenchError;

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend's name.
    pub name: String,
    /// `(x, y)` points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// A chart to draw.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    /// The title.
    pub title: &'a str,
    /// The x axis' label.
    pub x_label: &'a str,
    /// The y axis' label.
    pub y_label: &'a str,
    /// A base-2 logarithmic x axis (connection counts 1, 2, 4, …).
    pub log2_x: bool,
}

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        // DejaVu Sans parses; a failure would only leave text undrawn.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

fn plot_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Setup(format!("drawing a chart: {e}"))
}

/// Draws `series` as lines with points into a 900×560 PNG at `path`.
pub fn line_chart(path: &Path, chart: &Chart<'_>, series: &[Series]) -> Result<(), BenchError> {
    register_font();
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (x_min, x_max) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let y_max = ys.fold(0.0f64, f64::max);
    if x_min > x_max {
        return Err(plot_err("no points"));
    }
    let to_x = |x: f64| if chart.log2_x { x.max(1e-9).log2() } else { x };
    let (x0, x1) = (to_x(x_min), to_x(x_max).max(to_x(x_min) + 1e-9));
    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut ctx = ChartBuilder::on(&root)
        .caption(chart.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, 0.0..(y_max * 1.1).max(1e-9))
        .map_err(plot_err)?;
    let log2 = chart.log2_x;
    // One label per power of two on a log axis: a handful, far below usize's range.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a small, non-negative count"
    )]
    let x_labels = if log2 {
        (x1 - x0).round() as usize + 1
    } else {
        10
    };
    ctx.configure_mesh()
        .x_desc(chart.x_label)
        .y_desc(chart.y_label)
        .x_labels(x_labels)
        .x_label_formatter(&|x| {
            if log2 {
                format!("{:.0}", 2f64.powf(*x))
            } else {
                format!("{x:.0}")
            }
        })
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(plot_err)?;
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let points: Vec<(f64, f64)> = s.points.iter().map(|&(x, y)| (to_x(x), y)).collect();
        ctx.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(plot_err)?
            .label(s.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        ctx.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 4, color.filled())),
        )
        .map_err(plot_err)?;
    }
    ctx.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_written_as_a_png() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("c.png");
        let series = [
            Series {
                name: "a".into(),
                points: vec![(1.0, 10.0), (2.0, 18.0), (4.0, 30.0)],
            },
            Series {
                name: "b".into(),
                points: vec![(1.0, 8.0), (2.0, 15.0), (4.0, 21.0)],
            },
        ];
        let chart = Chart {
            title: "req/s",
            x_label: "connections",
            y_label: "req/s",
            log2_x: true,
        };
        line_chart(&path, &chart, &series).expect("drawn");
        let bytes = std::fs::read(&path).expect("written");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(line_chart(&path, &chart, &[]).is_err());
    }
}
