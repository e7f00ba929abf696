//! The library's batch runner: a template rendered over a stream of rows,
//! for a Rust service that has rows and no files (`impasto batch` is the
//! command-line runner, with its manifest and output files).

use std::collections::BTreeMap;

use image::RgbaImage;
use rayon::prelude::*;

use super::{Backend, Renderer};
use crate::{Assets, Error, Scene, Template};

/// Rows bound and in flight at once, per thread of the rayon pool: enough to
/// keep every core busy, few enough that memory stays that of a few renders
/// however many rows the iterator yields.
const ROWS_PER_THREAD: usize = 2;

impl Renderer {
    /// Binds each row of `rows` to `template` ([`Template::bind`]) and
    /// renders it, handing each result with its row index (from 0) to
    /// `on_result`, in row order. A row that fails to bind (a missing
    /// required value, a bad colour: the error names the variable and
    /// layer) or to render does not stop the others.
    ///
    /// Rows are pulled from the iterator a group at a time (two per thread),
    /// so a stream of a million rows holds only one group. On the CPU the
    /// rows of a group render in parallel; on the GPU they go through
    /// [`Renderer::render_each`], where one row is uploaded while the
    /// previous one is drawn and read back. Results are exactly what
    /// [`Renderer::render_with_assets`] gives for the bound scene. Warnings
    /// (glyphs no font has) are logged; bind and render a row with
    /// [`Renderer::render_report`] to receive them.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use impasto::{Assets, Backend, Renderer, Template};
    ///
    /// let template = Template::from_json(r##"{
    ///     "width": 8, "height": 8,
    ///     "variables": { "accent": { "type": "color", "required": true } },
    ///     "layers": [ { "type": "rect", "color": "{{accent}}" } ]
    /// }"##)?;
    /// let rows = ["#e4572e", "not a colour", "#2e86ab"]
    ///     .map(|c| BTreeMap::from([("accent".to_string(), c.to_string())]));
    /// let renderer = Renderer::new(Backend::Cpu)?;
    /// let mut ok = Vec::new();
    /// renderer.render_rows(&template, rows, &Assets::new(), |i, result| {
    ///     ok.push((i, result.is_ok()));
    /// });
    /// assert_eq!(ok, [(0, true), (1, false), (2, true)]);
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn render_rows<I>(
        &self,
        template: &Template,
        rows: I,
        assets: &Assets,
        mut on_result: impl FnMut(usize, Result<RgbaImage, Error>),
    ) where
        I: IntoIterator<Item = BTreeMap<String, String>>,
    {
        let group_size = (rayon::current_num_threads() * ROWS_PER_THREAD).max(1);
        let mut rows = rows.into_iter().enumerate().peekable();
        while rows.peek().is_some() {
            let group: Vec<(usize, Result<Scene, Error>)> = rows
                .by_ref()
                .take(group_size)
                .map(|(i, row)| (i, template.bind(&row)))
                .collect();
            let results = if self.backend == Backend::Cpu || self.gpu.is_none() {
                self.render_group_in_parallel(group, assets)
            } else {
                self.render_group_overlapped(group, assets)
            };
            for (i, result) in results {
                on_result(i, result);
            }
        }
    }

    /// The CPU: the rows of a group at once, one per rayon task.
    fn render_group_in_parallel(
        &self,
        group: Vec<(usize, Result<Scene, Error>)>,
        assets: &Assets,
    ) -> Vec<(usize, Result<RgbaImage, Error>)> {
        group
            .into_par_iter()
            .map(|(i, scene)| (i, scene.and_then(|s| self.render_with_assets(&s, assets))))
            .collect()
    }

    /// The GPU: the bound scenes of a group through `render_each`, the rows
    /// that failed to bind put back in their places.
    fn render_group_overlapped(
        &self,
        group: Vec<(usize, Result<Scene, Error>)>,
        assets: &Assets,
    ) -> Vec<(usize, Result<RgbaImage, Error>)> {
        let mut results: Vec<(usize, Option<Result<RgbaImage, Error>>)> =
            Vec::with_capacity(group.len());
        let mut scenes = Vec::new();
        let mut slots = Vec::new();
        for (slot, (i, bound)) in group.into_iter().enumerate() {
            match bound {
                Ok(scene) => {
                    scenes.push(scene);
                    slots.push(slot);
                    results.push((i, None));
                }
                Err(e) => results.push((i, Some(Err(e)))),
            }
        }
        self.render_each(&scenes, assets, |k, result| {
            results[slots[k]].1 = Some(result);
        });
        results
            .into_iter()
            .map(|(i, r)| {
                // `render_each` hands over one result per scene, so every
                // slot is filled; the fallback only keeps this total.
                let r = r.unwrap_or_else(|| Err(Error::Internal(format!("row {i}: no result"))));
                (i, r)
            })
            .collect()
    }
}
