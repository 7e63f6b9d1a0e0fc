//! The low-loss graph of a slice at a chosen level, for users' own tools.
//!
//! Nodes are the occupied sites `{ℓ ≤ level}`; edges join occupied face
//! neighbours. Each node carries its grid coordinates, its loss, the id of
//! its cluster (clusters numbered `0, 1, …` in order of their lowest site
//! index), the cluster's size and whether the cluster contains A and/or C.
//! [`to_dot`] writes Graphviz DOT through petgraph's [`Dot`]; [`to_graphml`]
//! writes GraphML with typed attributes (a small writer: the `petgraph-graphml`
//! crate targets older petgraph versions). Graphs above a node limit are
//! refused, since they are not useful to draw.

use petgraph::dot::{Config, Dot};
use petgraph::graph::{NodeIndex, UnGraph};
use rustc_hash::FxHashMap;

use super::field::LossField;
use super::minimax::lattice_of;
use crate::error::{Error, Result};
use crate::unionfind::UnionFind;

/// One occupied site.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteNode {
    /// C-order index of the site.
    pub site: u32,
    /// Grid coordinates of the site, one per axis (`k` values).
    pub coords: Vec<u32>,
    /// Loss at the site.
    pub loss: f32,
    /// Cluster id (0-based, ordered by the cluster's lowest site index).
    pub cluster: u32,
    /// Sites in the cluster.
    pub cluster_size: u32,
    /// The cluster contains A.
    pub has_a: bool,
    /// The cluster contains C.
    pub has_c: bool,
}

impl std::fmt::Display for SiteNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} loss={} cluster={} size={}{}{}",
            self.coords,
            self.loss,
            self.cluster,
            self.cluster_size,
            if self.has_a { " A" } else { "" },
            if self.has_c { " C" } else { "" }
        )
    }
}

/// An edge between face-neighbouring occupied sites (no attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Adjacent;

impl std::fmt::Display for Adjacent {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(())
    }
}

/// The undirected low-loss graph.
pub type LowLossGraph = UnGraph<SiteNode, Adjacent>;

/// Builds the graph of sites with loss `≤ level`; `a` and `c` are the
/// endpoints' site indices. Refuses more than `max_nodes` occupied sites.
pub fn low_loss_graph(
    field: &LossField,
    level: f32,
    a: u32,
    c: u32,
    max_nodes: usize,
) -> Result<LowLossGraph> {
    let lattice = lattice_of(field)?;
    let occupied: Vec<u32> = (0..lattice.n_sites())
        .filter(|&s| field.values[s as usize] <= level)
        .collect();
    if occupied.len() > max_nodes {
        return Err(Error::invalid(
            "level",
            level,
            format!(
                "{} sites lie at or below it, more than the graph limit of {max_nodes}; choose a lower level or a smaller slice",
                occupied.len()
            ),
        ));
    }
    let mut uf = UnionFind::new_empty(lattice.n_sites() as usize);
    for &s in &occupied {
        uf.occupy(s);
    }
    let mut edges = Vec::new();
    for &s in &occupied {
        let mut c = [0; crate::lattice::MAX_DIM];
        lattice.coords_into(s, &mut c);
        for (axis, &x) in c.iter().enumerate().take(lattice.dim()) {
            if let Some((nb, _)) = lattice.forward(s, x, axis) {
                if uf.is_occupied(nb) {
                    uf.union(s, nb);
                    edges.push((s, nb));
                }
            }
        }
    }
    let mut cluster_id: FxHashMap<u32, u32> = FxHashMap::default();
    let (ra, rc) = (
        uf.is_occupied(a).then(|| uf.find(a)),
        uf.is_occupied(c).then(|| uf.find(c)),
    );
    let mut g = LowLossGraph::with_capacity(occupied.len(), edges.len());
    let mut node_of: FxHashMap<u32, NodeIndex> = FxHashMap::default();
    for &s in &occupied {
        let root = uf.find(s);
        let next = cluster_id.len() as u32;
        let id = *cluster_id.entry(root).or_insert(next);
        let idx = g.add_node(SiteNode {
            site: s,
            coords: lattice.coords(s)[..lattice.dim()].to_vec(),
            loss: field.values[s as usize],
            cluster: id,
            cluster_size: uf.root_size(root),
            has_a: ra == Some(root),
            has_c: rc == Some(root),
        });
        node_of.insert(s, idx);
    }
    for (s, t) in edges {
        g.add_edge(node_of[&s], node_of[&t], Adjacent);
    }
    Ok(g)
}

/// Graphviz DOT of the graph (node labels: coordinates, loss, cluster).
pub fn to_dot(graph: &LowLossGraph) -> String {
    format!("{}", Dot::with_config(graph, &[Config::EdgeNoLabel]))
}

/// Writes `graph` to `file` atomically, as GraphML (`.graphml`) or DOT
/// (`.dot`, `.gv`) by the file's extension; `flag` names the parameter that
/// gave the file in the error for any other extension.
pub fn write_graph(graph: &LowLossGraph, file: &std::path::Path, flag: &str) -> Result<()> {
    let text = match file.extension().and_then(|e| e.to_str()) {
        Some("graphml") => to_graphml(graph),
        Some("dot") | Some("gv") => to_dot(graph),
        _ => {
            return Err(Error::invalid(
                flag,
                file.display(),
                "expected a file name ending in .graphml or .dot",
            ))
        }
    };
    crate::atomic::write_atomic(file, text.as_bytes())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// GraphML of the graph, with node attributes `coords` (string), `loss`
/// (double), `cluster`, `cluster_size` (int), `has_a`, `has_c` (boolean).
pub fn to_graphml(graph: &LowLossGraph) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n");
    for (id, ty) in [
        ("coords", "string"),
        ("loss", "double"),
        ("cluster", "int"),
        ("cluster_size", "int"),
        ("has_a", "boolean"),
        ("has_c", "boolean"),
    ] {
        let _ = writeln!(
            s,
            "  <key id=\"{id}\" for=\"node\" attr.name=\"{id}\" attr.type=\"{ty}\"/>"
        );
    }
    s.push_str("  <graph id=\"low_loss\" edgedefault=\"undirected\">\n");
    for i in graph.node_indices() {
        let n = &graph[i];
        let coords: Vec<String> = n.coords.iter().map(|x| x.to_string()).collect();
        let _ = writeln!(
            s,
            "    <node id=\"n{}\"><data key=\"coords\">{}</data><data key=\"loss\">{}</data><data key=\"cluster\">{}</data><data key=\"cluster_size\">{}</data><data key=\"has_a\">{}</data><data key=\"has_c\">{}</data></node>",
            n.site,
            xml_escape(&coords.join(",")),
            n.loss,
            n.cluster,
            n.cluster_size,
            n.has_a,
            n.has_c
        );
    }
    for e in graph.edge_indices() {
        let (u, v) = graph.edge_endpoints(e).expect("edge exists");
        let _ = writeln!(
            s,
            "    <edge source=\"n{}\" target=\"n{}\"/>",
            graph[u].site, graph[v].site
        );
    }
    s.push_str("  </graph>\n</graphml>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_holds_exactly_the_occupied_sites_with_true_cluster_sizes() {
        // 4 × 5 grid; '#' = low loss (0), '.' = high (9):
        //   # # . # #
        //   . # . . #
        //   . . . # #
        //   # . # # .
        let pattern = ["##.##", ".#..#", "...##", "#.##."];
        let values: Vec<f32> = pattern
            .iter()
            .flat_map(|r| r.chars().map(|ch| if ch == '#' { 0.0 } else { 9.0 }))
            .collect();
        let field = LossField::new(vec![4, 5], values).unwrap();
        let (a, c) = (0u32, 13u32); // A = (0,0); C = (2,3)
        let g = low_loss_graph(&field, 1.0, a, c, 100).unwrap();
        let sites: Vec<u32> = g.node_indices().map(|i| g[i].site).collect();
        let expected: Vec<u32> = (0..20)
            .filter(|&s| field.values[s as usize] == 0.0)
            .collect();
        assert_eq!(sites, expected);
        // Clusters by hand: {0,1,6} (size 3), {3,4,9,13,14,17,18} (7), {15} (1).
        let size_of = |s: u32| {
            g.node_indices()
                .find(|&i| g[i].site == s)
                .map(|i| g[i].cluster_size)
        };
        assert_eq!(size_of(0), Some(3));
        assert_eq!(size_of(6), Some(3));
        assert_eq!(size_of(3), Some(7));
        assert_eq!(size_of(17), Some(7));
        assert_eq!(size_of(15), Some(1));
        assert_eq!(g.edge_count(), 2 + 7 - 1);
        let node = |s: u32| {
            g.node_indices()
                .find(|&i| g[i].site == s)
                .map(|i| &g[i])
                .unwrap()
        };
        assert!(node(1).has_a && !node(1).has_c);
        assert!(node(18).has_c && !node(18).has_a);
        let gml = to_graphml(&g);
        assert_eq!(gml.matches("<node ").count(), expected.len());
        assert_eq!(gml.matches("<edge ").count(), g.edge_count());
        assert!(to_dot(&g).contains("graph {"));
        // Over the limit: refused.
        assert!(low_loss_graph(&field, 1.0, a, c, 5)
            .unwrap_err()
            .is_user_error());
    }
}
