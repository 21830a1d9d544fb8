//! Undo and redo over whole states (a formulation is small, so snapshots beat diffs).

#[derive(Clone, Debug)]
pub struct History<T> {
    past: Vec<T>,
    future: Vec<T>,
    limit: usize,
}

impl<T: Clone + PartialEq> History<T> {
    pub fn new(limit: usize) -> Self {
        History {
            past: Vec::new(),
            future: Vec::new(),
            limit: limit.max(1),
        }
    }

    /// Record `before`, the state an edit is about to leave; a no-op edit records nothing.
    /// Any redo branch is dropped.
    pub fn record(&mut self, before: T, after: &T) {
        if &before == after {
            return;
        }
        self.past.push(before);
        if self.past.len() > self.limit {
            self.past.remove(0);
        }
        self.future.clear();
    }

    /// The state to go back to from `current`, if any.
    pub fn undo(&mut self, current: T) -> Option<T> {
        let prev = self.past.pop()?;
        self.future.push(current);
        Some(prev)
    }

    pub fn redo(&mut self, current: T) -> Option<T> {
        let next = self.future.pop()?;
        self.past.push(current);
        Some(next)
    }

    pub fn can_undo(&self) -> bool {
        !self.past.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.future.is_empty()
    }

    pub fn clear(&mut self) {
        self.past.clear();
        self.future.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_redo_and_a_new_edit_drops_the_redo_branch() {
        let mut h = History::new(2);
        let mut state = 0;
        for next in [1, 2, 3] {
            h.record(state, &next);
            state = next;
        }
        h.record(state, &state); // no-op: nothing recorded
        state = h.undo(state).unwrap();
        assert_eq!(state, 2);
        state = h.undo(state).unwrap();
        assert_eq!(state, 1);
        assert_eq!(h.undo(state), None, "limit 2 dropped the oldest");
        state = h.redo(state).unwrap();
        assert_eq!(state, 2);
        h.record(state, &7);
        assert!(!h.can_redo());
        assert_eq!(h.undo(7), Some(2));
    }
}
