//! Official folds (matbench's, or any): a CSV `id,fold` that puts each row of a dataset in one
//! test fold. Read with the same reader as the data, so quoting and `;` files work alike.

use std::collections::HashMap;
use std::io::Read;

use super::DataError;
use crate::table::{ReadError, records};

/// The fold of each of `ids` (a dataset's row ids, in order) from a CSV with columns `id` and
/// `fold`; every id must have a fold.
pub fn read_folds(input: impl Read, ids: &[String]) -> Result<Vec<usize>, DataError> {
    let mut records = records(input)?;
    let id_col = records.require("id")?;
    let fold_col = records.require("fold")?;
    let mut fold_of = HashMap::new();
    while let Some((row, cells)) = records.next_row()? {
        let fold: usize = cells[fold_col].parse().map_err(|_| DataError::Cell {
            row,
            column: fold_col + 1,
            name: "fold".into(),
            problem: format!("fold {:?} is not a whole number", cells[fold_col]),
        })?;
        fold_of.insert(cells[id_col].to_string(), fold);
    }
    if fold_of.is_empty() {
        return Err(ReadError::NoRows.into());
    }
    ids.iter()
        .map(|id| {
            fold_of.get(id).copied().ok_or_else(|| DataError::Cell {
                row: 1,
                column: id_col + 1,
                name: "id".into(),
                problem: format!("no fold for the dataset's row id {id:?}"),
            })
        })
        .collect()
}

/// Given test sets (a CSV with columns `split` and `id`: the test ids of each split, as the
/// literature's standard splits are published) as row indices of `ids`, split by split.
pub fn read_test_ids(input: impl Read, ids: &[String]) -> Result<Vec<Vec<usize>>, DataError> {
    let mut records = records(input)?;
    let split_col = records.require("split")?;
    let id_col = records.require("id")?;
    let row_of: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(r, id)| (id.as_str(), r))
        .collect();
    let mut tests: Vec<Vec<usize>> = Vec::new();
    while let Some((row, cells)) = records.next_row()? {
        let cell = |column: usize, name: &str, problem: String| DataError::Cell {
            row,
            column: column + 1,
            name: name.into(),
            problem,
        };
        let split: usize = cells[split_col].parse().map_err(|_| {
            let problem = format!("split {:?} is not a whole number", cells[split_col]);
            cell(split_col, "split", problem)
        })?;
        let r = *row_of.get(cells[id_col]).ok_or_else(|| {
            cell(
                id_col,
                "id",
                format!("id {:?} is not in the data", cells[id_col]),
            )
        })?;
        if split >= tests.len() {
            tests.resize_with(split + 1, Vec::new);
        }
        tests[split].push(r);
    }
    if tests.is_empty() {
        return Err(ReadError::NoRows.into());
    }
    Ok(tests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_by_id_with_quotes_and_semicolons() {
        let ids = ["a", "b, c"].map(String::from);
        let folds = read_folds("id,fold\n\"b, c\",1\na,0\nz,3\n".as_bytes(), &ids).unwrap();
        assert_eq!(folds, vec![0, 1]);
        let folds = read_folds("fold;id\n2;a\n0;b, c\n".as_bytes(), &ids).unwrap();
        assert_eq!(folds, vec![2, 0]);
    }

    #[test]
    fn test_ids_by_split() {
        let ids = ["1", "2", "3", "4"].map(String::from);
        let tests = read_test_ids("split,id\n0,2\n1,4\n0,3\n".as_bytes(), &ids).unwrap();
        assert_eq!(tests, vec![vec![1, 2], vec![3]]);
        let err = read_test_ids("split,id\n0,9\n".as_bytes(), &ids).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 2, column 2 (\"id\"): id \"9\" is not in the data"
        );
    }

    #[test]
    fn bad_folds_name_the_row() {
        let ids = ["a".to_string()];
        let err = read_folds("id,fold\na,x\n".as_bytes(), &ids).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 2, column 2 (\"fold\"): fold \"x\" is not a whole number"
        );
        let err = read_folds("id,fold\nb,1\n".as_bytes(), &ids).unwrap_err();
        assert!(
            err.to_string()
                .contains("no fold for the dataset's row id \"a\""),
            "{err}"
        );
        let err = read_folds("name,fold\na,1\n".as_bytes(), &ids).unwrap_err();
        assert!(err.to_string().contains("column \"id\""), "{err}");
    }
}
