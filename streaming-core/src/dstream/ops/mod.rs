//! The DStream operations, one file per family, with the family names and
//! groupings of `stream!`'s operator table (`streaming-dsl/src/ops/`):
//!
//! | family | operations |
//! |---|---|
//! | `input` | creating input streams (`queue_stream`, `socket_text_stream`, `text_file_stream`, `input_stream`, ...; the `StreamingContext` methods in `context/input.rs` call these) |
//! | `narrow` | `map`, `flat_map`, `filter`, `map_partitions`, `glom`, `map_values`, `union`, `transform`, `cache`, `checkpoint`, `name`, ... |
//! | `shuffle` | `repartition`, `count`, `count_by_value`, `reduce`, `group_by_key`, `reduce_by_key`, `combine_by_key`, joins, `cogroup` |
//! | `window` | `window`, `count_by_window`, `reduce_by_window`, `reduce_by_key_and_window`, ..., and the [`Window`](crate::Window) value |
//! | `reducers` | the built-in windowed `sum` ([`WindowSum`](crate::WindowSum)): exact, incremental for integers, on panes for floats |
//! | `state` | `update_state_by_key`, `map_with_state`, `state_snapshots` |
//! | `output` | `print`, `foreach_batch`, `save_as_text_files`, ... |

pub(crate) mod input;
mod narrow;
mod output;
pub(crate) mod reducers;
mod shuffle;
mod state;
pub(crate) mod window;
