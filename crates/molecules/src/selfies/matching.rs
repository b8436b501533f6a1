//! Perfect matching on the delocalized subgraph: a greedy start followed by
//! BFS augmenting paths, visiting nodes in exactly the order selfies does.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::py_set::PySet;

/// Returns `mate[i]` for every node, or `None` if no perfect matching exists.
pub(super) fn find_perfect_matching(graph: &[Vec<usize>]) -> Option<Vec<usize>> {
    let mut matching = greedy_matching(graph);
    let mut unmatched = PySet::from_keys((0..graph.len()).filter(|&i| matching[i].is_none()));
    while let Some(root) = unmatched.pop() {
        let path = augmenting_path(graph, root, &matching)?;
        for pair in path.chunks_exact(2) {
            matching[pair[0]] = Some(pair[1]);
            matching[pair[1]] = Some(pair[0]);
        }
        if let (Some(&first), Some(&last)) = (path.first(), path.last()) {
            unmatched.discard(first);
            unmatched.discard(last);
        }
    }
    matching.into_iter().collect()
}

/// Maximal matching that prefers nodes with few free neighbours (ties by index).
fn greedy_matching(graph: &[Vec<usize>]) -> Vec<Option<usize>> {
    let mut matching = vec![None; graph.len()];
    let mut free_degrees: Vec<i64> = graph.iter().map(|adj| adj.len() as i64).collect();
    let mut queue: BinaryHeap<Reverse<(i64, usize)>> = free_degrees
        .iter()
        .enumerate()
        .map(|(node, &deg)| Reverse((deg, node)))
        .collect();

    while let Some(Reverse((_, node))) = queue.pop() {
        if matching[node].is_some() || free_degrees[node] == 0 {
            continue;
        }
        let Some(mate) = graph[node].iter().copied().find(|&i| matching[i].is_none()) else {
            continue;
        };
        matching[node] = Some(mate);
        matching[mate] = Some(node);
        for &adj in graph[node].iter().chain(&graph[mate]) {
            free_degrees[adj] -= 1;
            if matching[adj].is_none() && free_degrees[adj] > 0 {
                queue.push(Reverse((free_degrees[adj], adj)));
            }
        }
    }
    matching
}

/// BFS from the unmatched `root` to another unmatched node through alternating edges.
/// The path lists node pairs to be matched with each other.
fn augmenting_path(
    graph: &[Vec<usize>],
    root: usize,
    matching: &[Option<usize>],
) -> Option<Vec<usize>> {
    // parents[v] = (node the edge was explored from, node reached) for visited v
    let mut parents: Vec<Option<(usize, usize)>> = vec![None; graph.len()];
    parents[root] = Some((root, root));
    let mut queue = VecDeque::from([root]);
    let mut other_end = None;

    'search: while let Some(node) = queue.pop_front() {
        for &adj in &graph[node] {
            match matching[adj] {
                None if adj != root => {
                    parents[adj] = Some((node, adj));
                    other_end = Some(adj);
                    break 'search;
                }
                Some(adj_mate) if parents[adj_mate].is_none() => {
                    parents[adj_mate] = Some((node, adj));
                    queue.push_back(adj_mate);
                }
                _ => {}
            }
        }
    }

    let mut node = other_end?;
    let mut path = Vec::new();
    while node != root {
        let (from, reached) = parents[node]?;
        path.push(reached);
        path.push(from);
        node = from;
    }
    Some(path)
}
