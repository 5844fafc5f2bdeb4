//! [`FairShare`]: which endpoints get the deliverer's free slots. Apps take turns, one
//! endpoint each per turn, starting after the app served last, and no app holds more than
//! its cap at once. So an app whose endpoints hang holds at most its cap, and every other
//! app with something due gets a slot in the very next round, before any app with more
//! under way. A pure rule over plain data; the deliverer keeps the counts and does the I/O.

use std::collections::BTreeMap;

/// The turn-taking between apps, with the app served last remembered across rounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FairShare<A> {
    per_app: usize,
    last: Option<A>,
}

impl<A: Ord + Clone> FairShare<A> {
    /// Turns with at most `per_app` endpoints of one app under way at once.
    pub fn new(per_app: usize) -> Self {
        Self {
            per_app,
            last: None,
        }
    }

    /// Picks up to `free` endpoints to start now, as `(app, endpoint)`, from `waiting` (each
    /// app's endpoints that are due and idle, in the order they should go), given how many
    /// each app has `running` already. Apps take one endpoint per turn, in order from the app
    /// after the one served last; an app at its cap is passed over.
    pub fn pick<E: Clone>(
        &mut self,
        waiting: &BTreeMap<A, Vec<E>>,
        running: &BTreeMap<A, usize>,
        free: usize,
    ) -> Vec<(A, E)> {
        let order: Vec<&A> = match &self.last {
            Some(last) => waiting
                .range(last..)
                .filter(|(app, _)| *app != last)
                .chain(waiting.range(..=last))
                .map(|(app, _)| app)
                .collect(),
            None => waiting.keys().collect(),
        };
        let mut taken: BTreeMap<&A, usize> = BTreeMap::new();
        let mut picked = Vec::new();
        loop {
            let before = picked.len();
            for app in &order {
                if picked.len() == free {
                    return self.done(picked);
                }
                let took = taken.entry(*app).or_default();
                let under_way = running.get(*app).copied().unwrap_or(0) + *took;
                if let Some(endpoint) = waiting[*app].get(*took)
                    && under_way < self.per_app
                {
                    picked.push(((*app).clone(), endpoint.clone()));
                    *took += 1;
                }
            }
            if picked.len() == before {
                return self.done(picked);
            }
        }
    }

    fn done<E>(&mut self, picked: Vec<(A, E)>) -> Vec<(A, E)> {
        if let Some((app, _)) = picked.last() {
            self.last = Some(app.clone());
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(apps: &[(&'static str, usize)]) -> BTreeMap<&'static str, Vec<usize>> {
        apps.iter()
            .map(|&(app, n)| (app, (0..n).collect()))
            .collect()
    }

    fn apps(picked: &[(&'static str, usize)]) -> Vec<&'static str> {
        picked.iter().map(|(app, _)| *app).collect()
    }

    #[test]
    fn an_app_with_many_endpoints_gets_its_cap_and_leaves_the_other_slots() {
        let mut share = FairShare::new(4);
        let picked = share.pick(&waiting(&[("a", 48), ("b", 1)]), &BTreeMap::new(), 16);
        assert_eq!(apps(&picked), ["a", "b", "a", "a", "a"]);
        assert_eq!(picked[..2], [("a", 0), ("b", 0)], "oldest endpoint first");
    }

    #[test]
    fn an_app_at_its_cap_is_passed_over_and_another_gets_the_next_free_slot() {
        let mut share = FairShare::new(4);
        let running = BTreeMap::from([("a", 4)]);
        let picked = share.pick(&waiting(&[("a", 44), ("b", 1)]), &running, 1);
        assert_eq!(picked, [("b", 0)]);
        let picked = share.pick(&waiting(&[("a", 44)]), &running, 12);
        assert!(picked.is_empty(), "{picked:?}");
    }

    #[test]
    fn apps_take_turns_across_rounds_when_slots_are_scarce() {
        let mut share = FairShare::new(4);
        let all = waiting(&[("a", 3), ("b", 3), ("c", 3)]);
        let rounds: Vec<_> = (0..4)
            .flat_map(|_| apps(&share.pick(&all, &BTreeMap::new(), 1)))
            .collect();
        assert_eq!(rounds, ["a", "b", "c", "a"]);
        // An app served last that has nothing due any more does not stall the turns.
        let picked = share.pick(&waiting(&[("b", 1), ("c", 1)]), &BTreeMap::new(), 1);
        assert_eq!(apps(&picked), ["b"]);
    }

    #[test]
    fn no_free_slot_or_nothing_waiting_starts_nothing() {
        let mut share = FairShare::new(4);
        assert!(
            share
                .pick(&waiting(&[("a", 2)]), &BTreeMap::new(), 0)
                .is_empty()
        );
        let none: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        assert!(share.pick(&none, &BTreeMap::new(), 16).is_empty());
        let picked = share.pick(&waiting(&[("a", 2), ("b", 1)]), &BTreeMap::new(), 16);
        assert_eq!(picked.len(), 3, "fewer waiting than free: all of them");
    }
}
