//! The embedding explorer's logic, DOM-free: what colours and sizes the points, the share-link
//! view state, and the exports. The app draws; this decides.

pub mod colour;
pub mod export;
pub mod live;
pub mod view;
