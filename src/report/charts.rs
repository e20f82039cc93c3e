//! The report's charts as inline SVG, drawn with plotters' SVG backend (text
//! escaped by it, no fonts embedded: the page's sans-serif is used).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{thousands, Report, Sources, CLASSES};

/// Colors of the donut's slices: Entra unscoped, Entra narrowed, RBAC, both.
pub const SOURCE_COLORS: [RGBColor; 4] = [
    RGBColor(0xc0, 0x39, 0x2b),
    RGBColor(0xe6, 0x7e, 0x22),
    RGBColor(0x27, 0xae, 0x60),
    RGBColor(0x29, 0x80, 0xb9),
];
const CLASS_COLORS: [RGBColor; 4] = [
    RGBColor(0x29, 0x80, 0xb9),
    RGBColor(0xe6, 0x7e, 0x22),
    RGBColor(0xc0, 0x39, 0x2b),
    RGBColor(0x8e, 0x44, 0xad),
];
const FONT: &str = "sans-serif";

type Draw = Result<(), Box<dyn std::error::Error>>;

/// Draws into an SVG string of `w` × `h`; a drawing error becomes a note in the SVG.
fn svg(w: u32, h: u32, draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Draw) -> String {
    let mut out = String::new();
    let failed = {
        let root = SVGBackend::with_string(&mut out, (w, h)).into_drawing_area();
        let result = root
            .fill(&WHITE)
            .map_err(|e| e.to_string().into())
            .and_then(|_| draw(&root))
            .and_then(|_| root.present().map_err(|e| e.to_string().into()));
        result.err().map(|e| e.to_string())
    };
    match failed {
        None => out,
        Some(e) => format!("<p>(chart not drawn: {})</p>", html_escape(&e)),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Shortens a label to `n` characters with an ellipsis.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// Cells by source as a donut with its legend.
pub fn sources_donut(s: &Sources) -> String {
    let values = [s.entra_unscoped, s.entra_narrowed, s.rbac, s.both];
    let labels = [
        "Entra, unscoped",
        "Entra, narrowed by policy",
        "RBAC for Applications",
        "Entra and RBAC",
    ];
    let total = s.total();
    svg(520, 240, |root| {
        let (pie_area, legend) = root.split_horizontally(240);
        // Slices of zero would draw nothing; keep them out of the pie.
        let mut sizes = Vec::new();
        let mut colors = Vec::new();
        let mut names = Vec::new();
        for i in 0..4 {
            if values[i] > 0 {
                sizes.push(values[i] as f64);
                colors.push(SOURCE_COLORS[i]);
                names.push(String::new());
            }
        }
        if sizes.is_empty() {
            pie_area.draw(&Circle::new(
                (120, 120),
                95,
                RGBColor(0xdd, 0xdd, 0xdd).filled(),
            ))?;
        } else {
            let mut pie = Pie::new(&(120, 120), &95.0, &sizes, &colors, &names);
            pie.donut_hole(55.0);
            pie_area.draw(&pie)?;
        }
        pie_area.draw(&Text::new(
            thousands(total),
            (120, 112),
            (FONT, 17)
                .into_font()
                .style(FontStyle::Bold)
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        pie_area.draw(&Text::new(
            "cells",
            (120, 132),
            (FONT, 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        for i in 0..4 {
            let y = 50 + 38 * i as i32;
            legend.draw(&Rectangle::new(
                [(0, y), (16, y + 16)],
                SOURCE_COLORS[i].filled(),
            ))?;
            let share = if total > 0 {
                values[i] as f64 * 100.0 / total as f64
            } else {
                0.0
            };
            legend.draw(&Text::new(labels[i], (24, y), (FONT, 14).into_font()))?;
            legend.draw(&Text::new(
                format!("{} ({share:.1} %)", thousands(values[i])),
                (24, y + 17),
                (FONT, 12).into_font().color(&RGBColor(0x55, 0x55, 0x55)),
            ))?;
        }
        Ok(())
    })
}

/// Top apps of one class by mailboxes reached, as horizontal bars.
fn class_bars(report: &Report, class: usize, n: usize) -> String {
    let mut rows: Vec<(&str, u64)> = report
        .app_rows
        .iter()
        .filter(|a| a.classes[class] > 0)
        .map(|a| (a.name.as_str(), a.classes[class]))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    rows.truncate(n);
    let height = 60 + 22 * rows.len().max(1) as u32;
    let max = report.mailboxes.max(1);
    let color = CLASS_COLORS[class];
    svg(460, height, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{}: mailboxes reached", CLASSES[class]), (FONT, 15))
            .margin(6)
            .x_label_area_size(22)
            .y_label_area_size(170)
            .build_cartesian_2d(0u64..max, (0..rows.len().max(1)).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(rows.len().max(1))
            .x_labels(4)
            .x_label_formatter(&|v| thousands(*v))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if *i < rows.len() => {
                    cut(rows[rows.len() - 1 - *i].0, 26)
                }
                _ => String::new(),
            })
            .label_style((FONT, 11))
            .draw()?;
        chart.draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
            let y = rows.len() - 1 - i;
            let mut bar = Rectangle::new(
                [
                    (0, SegmentValue::Exact(y)),
                    (*v, SegmentValue::Exact(y + 1)),
                ],
                color.mix(0.85).filled(),
            );
            bar.set_margin(3, 3, 0, 0);
            bar
        }))?;
        if rows.is_empty() {
            root.draw(&Text::new("no app", (200, 50), (FONT, 13).into_font()))?;
        }
        Ok(())
    })
}

/// One bar chart per permission class.
pub fn class_charts(report: &Report) -> Vec<String> {
    (0..CLASSES.len())
        .map(|c| class_bars(report, c, 10))
        .collect()
}

/// Top apps × permissions: mailboxes reached, shaded by share of all mailboxes.
pub fn heat_map(report: &Report) -> String {
    let cols = report.heat_permissions.len();
    let rows = report.heat.len();
    if cols == 0 || rows == 0 {
        return "<p>No app reaches any mailbox.</p>".to_string();
    }
    let (left, top, cell_w, cell_h) = (200i32, 175i32, 48i32, 24i32);
    let w = (left + cell_w * cols as i32 + 20) as u32;
    let h = (top + cell_h * rows as i32 + 20) as u32;
    let all = report.mailboxes.max(1) as f64;
    svg(w, h, |root| {
        for (j, p) in report.heat_permissions.iter().enumerate() {
            let x = left + cell_w * j as i32 + cell_w / 2;
            root.draw(&Text::new(
                cut(p, 28),
                (x, top - 6),
                (FONT, 11)
                    .into_font()
                    .transform(FontTransform::Rotate270)
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        for (i, (app, values)) in report.heat.iter().enumerate() {
            let y = top + cell_h * i as i32;
            root.draw(&Text::new(
                cut(app, 30),
                (left - 6, y + cell_h / 2),
                (FONT, 11)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            for (j, &v) in values.iter().enumerate() {
                let x = left + cell_w * j as i32;
                let share = v as f64 / all;
                let fill = if v == 0 {
                    RGBColor(0xf4, 0xf4, 0xf4)
                } else {
                    // Light to dark red as the share of mailboxes grows.
                    let t = 0.15 + 0.85 * share;
                    RGBColor(
                        (255.0 - 63.0 * t) as u8,
                        (235.0 - 178.0 * t) as u8,
                        (230.0 - 187.0 * t) as u8,
                    )
                };
                root.draw(&Rectangle::new(
                    [(x + 1, y + 1), (x + cell_w - 1, y + cell_h - 1)],
                    fill.filled(),
                ))?;
                if v > 0 {
                    let text = if share >= 0.995 {
                        "all".to_string()
                    } else {
                        format!("{:.0}%", (share * 100.0).max(1.0))
                    };
                    let color = if share > 0.5 { WHITE } else { BLACK };
                    root.draw(&Text::new(
                        text,
                        (x + cell_w / 2, y + cell_h / 2),
                        (FONT, 10)
                            .into_font()
                            .color(&color)
                            .pos(Pos::new(HPos::Center, VPos::Center)),
                    ))?;
                }
            }
        }
        Ok(())
    })
}

/// Findings per severity as bars.
pub fn severity_bars(severities: &[u64; 3]) -> String {
    let names = ["error", "warning", "info"];
    let colors = [
        RGBColor(0xc0, 0x39, 0x2b),
        RGBColor(0xe6, 0x7e, 0x22),
        RGBColor(0x7f, 0x8c, 0x8d),
    ];
    let max = severities.iter().copied().max().unwrap_or(0).max(1);
    svg(320, 150, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("findings by severity", (FONT, 14))
            .margin(6)
            .x_label_area_size(20)
            .y_label_area_size(60)
            .build_cartesian_2d(0u64..max + max / 5 + 1, (0..3usize).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(3)
            .x_labels(3)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if *i < 3 => names[2 - *i].to_string(),
                _ => String::new(),
            })
            .label_style((FONT, 11))
            .draw()?;
        chart.draw_series((0..3).map(|i| {
            let mut bar = Rectangle::new(
                [
                    (0, SegmentValue::Exact(2 - i)),
                    (severities[i], SegmentValue::Exact(3 - i)),
                ],
                colors[i].filled(),
            );
            bar.set_margin(4, 4, 0, 0);
            bar
        }))?;
        Ok(())
    })
}
