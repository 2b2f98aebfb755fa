//! The safe order of switches: an exact precedence graph between changing
//! services, layered by longest path into the minimum number of waves.
//!
//! While a wave switches, its services serve both their current and their
//! target release, earlier waves serve their target, and everything else its
//! current release. For a consumer `C` and a provider `P` that both change,
//! with `ok(c, p)` for compatibility of `C`'s release `c` with `P`'s release `p`:
//! `P` before `C` needs ok(cur,cur), ok(cur,tgt), ok(tgt,tgt); `C` before `P`
//! needs ok(cur,cur), ok(tgt,cur), ok(tgt,tgt); the same wave needs all four.
//! The steady states give ok(cur,cur) and ok(tgt,tgt), so each pair either
//! needs no order, forces one direction, or allows none.
//!
//! Rolling back the waves in reverse order passes through exactly the same
//! states, so a safe plan is also safe to roll back.

use std::collections::{BTreeMap, HashMap, VecDeque};

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use semver::Version;

use crate::compat::{Catalog, Mismatch, State, state_mismatches};
use crate::matrix::Matrix;

/// One service switching from `from` to `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The service.
    pub service: String,
    /// The release it leaves (blue).
    pub from: Version,
    /// The release it moves to (green).
    pub to: Version,
}

/// Services that switch concurrently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wave {
    /// Sorted by service name.
    pub services: Vec<Step>,
}

/// `before` must switch in an earlier wave than `after`, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    /// The service that switches first.
    pub before: String,
    /// The service that switches later.
    pub after: String,
    /// The requirements that the opposite order (or the same wave) would break.
    pub mismatches: Vec<Mismatch>,
}

impl Constraint {
    /// "`orders` 2.0.0 needs `payments-api` ^2, which `payments` 1.4.0 does not provide".
    pub fn reason(&self) -> String {
        self.mismatches
            .iter()
            .map(Mismatch::describe)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// "`payments` before `orders`: <reason>".
    pub fn describe(&self) -> String {
        crate::describe::constraint(&self.before, &self.after, &self.reason())
    }
}

/// A safe plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The waves, minimal in number; empty when nothing changes.
    pub waves: Vec<Wave>,
    /// Every ordering constraint, sorted.
    pub constraints: Vec<Constraint>,
}

impl Plan {
    /// The wave index (0-based) of each service in the plan.
    pub fn wave_of(&self) -> HashMap<&str, usize> {
        self.waves
            .iter()
            .enumerate()
            .flat_map(|(i, wave)| wave.services.iter().map(move |s| (s.service.as_str(), i)))
            .collect()
    }
}

/// Two changing services that cannot switch in any order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The consumer.
    pub consumer: String,
    /// The provider.
    pub provider: String,
    /// Why the provider cannot switch first: the consumer's current release
    /// needs what the provider's target no longer serves.
    pub provider_first: Vec<Mismatch>,
    /// Why the consumer cannot switch first: its target release needs what the
    /// provider's current release does not serve yet.
    pub consumer_first: Vec<Mismatch>,
}

/// Ordering constraints that go round in a circle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cycle {
    /// The services on the cycle, the first repeated at the end: `a → b → a`.
    pub path: Vec<String>,
    /// The constraint behind each arrow, in path order.
    pub edges: Vec<Constraint>,
}

impl Cycle {
    /// "`a` → `b` → `a`".
    pub fn describe_path(&self) -> String {
        crate::describe::cycle_path(&self.path)
    }
}

/// A steady state (all current, or all target) that is already broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenState {
    /// Which state.
    pub state: State,
    /// Its broken pairs.
    pub mismatches: Vec<Mismatch>,
}

/// Why no safe order exists: the facts only. `explain` derives hints from
/// them and makes the public [`Obstacles`](crate::Obstacles).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Obstacles {
    /// Steady states that are broken whatever the order.
    pub broken_states: Vec<BrokenState>,
    /// Pairs that allow neither order.
    pub conflicts: Vec<Conflict>,
    /// Cycles of constraints.
    pub cycles: Vec<Cycle>,
    /// The constraints found, including those on cycles.
    pub constraints: Vec<Constraint>,
}

/// The order of a matrix whose current and target states were already found
/// sound by validation, so they are not checked again.
pub(crate) fn order_validated(matrix: &Matrix) -> Result<Plan, Obstacles> {
    order(&Catalog::new(matrix))
}

/// The minimal safe waves of a matrix, or the facts of why none exist.
pub(crate) fn analyse(matrix: &Matrix) -> Result<Plan, Obstacles> {
    let catalog = Catalog::new(matrix);
    let broken_states: Vec<BrokenState> = [State::Current, State::Target]
        .into_iter()
        .map(|state| BrokenState {
            state,
            mismatches: state_mismatches(&catalog, state),
        })
        .filter(|b| !b.mismatches.is_empty())
        .collect();
    if !broken_states.is_empty() {
        return Err(Obstacles {
            broken_states,
            ..Obstacles::default()
        });
    }
    order(&catalog)
}

/// The waves of a matrix whose two states are sound.
fn order(catalog: &Catalog) -> Result<Plan, Obstacles> {
    let matrix = catalog.matrix();
    let (constraints, conflicts) = pairwise(catalog);
    let changing: Vec<&str> = matrix.changing().map(|s| s.name.as_str()).collect();
    let mut graph = DiGraph::<&str, usize>::with_capacity(changing.len(), constraints.len());
    let index: HashMap<&str, NodeIndex> = changing
        .iter()
        .map(|name| (*name, graph.add_node(name)))
        .collect();
    for (i, constraint) in constraints.iter().enumerate() {
        graph.add_edge(
            index[constraint.before.as_str()],
            index[constraint.after.as_str()],
            i,
        );
    }
    let cycles = cycles(&graph, &constraints);
    if !conflicts.is_empty() || !cycles.is_empty() {
        return Err(Obstacles {
            conflicts,
            cycles,
            constraints,
            ..Obstacles::default()
        });
    }

    let order = toposort(&graph, None).map_err(|_| Obstacles::default())?;
    let mut layer = vec![0usize; graph.node_count()];
    for node in order {
        let next = layer[node.index()] + 1;
        for successor in graph.neighbors(node) {
            layer[successor.index()] = layer[successor.index()].max(next);
        }
    }
    let mut waves: BTreeMap<usize, Vec<Step>> = BTreeMap::new();
    for service in matrix.changing() {
        waves
            .entry(layer[index[service.name.as_str()].index()])
            .or_default()
            .push(Step {
                service: service.name.clone(),
                from: service.current.value.clone(),
                to: service.target_version().clone(),
            });
    }
    Ok(Plan {
        waves: waves
            .into_values()
            .map(|services| Wave { services })
            .collect(),
        constraints,
    })
}

/// Every constraint and conflict between two changing services, sorted.
fn pairwise(catalog: &Catalog) -> (Vec<Constraint>, Vec<Conflict>) {
    let mut edges: BTreeMap<(String, String), Vec<Mismatch>> = BTreeMap::new();
    let mut conflicts = Vec::new();
    for consumer in catalog.matrix().changing() {
        for provider in catalog.providers_of(consumer) {
            if !provider.is_changing() {
                continue;
            }
            let (c_cur, c_tgt) = (&consumer.current.value, consumer.target_version());
            let (p_cur, p_tgt) = (&provider.current.value, provider.target_version());
            let provider_first = catalog.mismatches(consumer, c_cur, provider, p_tgt);
            let consumer_first = catalog.mismatches(consumer, c_tgt, provider, p_cur);
            let (before, after, why) = match (provider_first.is_empty(), consumer_first.is_empty())
            {
                (true, true) => continue,
                (true, false) => (&provider.name, &consumer.name, consumer_first),
                (false, true) => (&consumer.name, &provider.name, provider_first),
                (false, false) => {
                    conflicts.push(Conflict {
                        consumer: consumer.name.clone(),
                        provider: provider.name.clone(),
                        provider_first,
                        consumer_first,
                    });
                    continue;
                }
            };
            edges
                .entry((before.clone(), after.clone()))
                .or_default()
                .extend(why);
        }
    }
    let constraints = edges
        .into_iter()
        .map(|((before, after), mismatches)| Constraint {
            before,
            after,
            mismatches,
        })
        .collect();
    (constraints, conflicts)
}

/// One cycle per strongly connected component with more than one service,
/// the shortest one through its first service by name.
fn cycles(graph: &DiGraph<&str, usize>, constraints: &[Constraint]) -> Vec<Cycle> {
    let mut found: Vec<Cycle> = tarjan_scc(graph)
        .into_iter()
        .filter(|component| component.len() > 1)
        .filter_map(|component| {
            let start = *component.iter().min_by_key(|n| graph[**n])?;
            let path = shortest_cycle(graph, start, &component)?;
            let edges = path
                .windows(2)
                .filter_map(|w| {
                    graph
                        .find_edge(w[0], w[1])
                        .map(|e| constraints[graph[e]].clone())
                })
                .collect();
            Some(Cycle {
                path: path.iter().map(|n| graph[*n].to_owned()).collect(),
                edges,
            })
        })
        .collect();
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// Breadth-first search from `start` back to itself, inside `component`.
fn shortest_cycle(
    graph: &DiGraph<&str, usize>,
    start: NodeIndex,
    component: &[NodeIndex],
) -> Option<Vec<NodeIndex>> {
    let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let mut successors: Vec<NodeIndex> = graph
            .neighbors(node)
            .filter(|n| component.contains(n))
            .collect();
        successors.sort_by_key(|n| graph[*n]);
        for next in successors {
            if next == start {
                let mut chain = vec![node];
                let mut current = node;
                while current != start {
                    current = *parent.get(&current)?;
                    chain.push(current);
                }
                chain.reverse();
                chain.push(start);
                return Some(chain);
            }
            if next != start && !parent.contains_key(&next) {
                parent.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}
