//! Parquet tables: any writer's output (DuckDB, Polars, pandas, Spark).
//!
//! Columns are turned into text the way PowerShell would have exported them:
//! strings as they are, booleans as True/False, numbers in decimal, and list
//! columns joined with `;` (the multi-valued convention of the CSV dialect).

use std::fs::File;
use std::path::Path;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, StringArray};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::csv::display_name;
use super::tables::{check_unique_names, Column, SourceFormat, Table, TableSpec};
use crate::error::{Error, Location, Result};

/// Reads one Parquet table file.
pub fn read_parquet(path: &Path, spec: TableSpec) -> Result<Table> {
    let file_name = display_name(path);
    let perr = |e: &dyn std::fmt::Display| Error::Parquet {
        path: path.to_path_buf(),
        message: format!("cannot read Parquet: {e}"),
    };
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| perr(&e))?;
    let schema = builder.schema().clone();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    check_unique_names(&names, &file_name, None)?;
    let mut builders: Vec<StringBuilder> = names.iter().map(|_| StringBuilder::new()).collect();
    let mut chunks: Vec<Vec<StringArray>> = names.iter().map(|_| Vec::new()).collect();
    let mut rows = 0u64;
    let reader = builder.build().map_err(|e| perr(&e))?;
    for batch in reader {
        let batch = batch.map_err(|e| perr(&e))?;
        for (i, column) in batch.columns().iter().enumerate() {
            append_as_text(column, &mut builders[i]).map_err(|message| {
                Error::data(
                    Location {
                        file: file_name.clone(),
                        line: None,
                        column: Some(names[i].clone()),
                    },
                    message,
                )
            })?;
        }
        rows += batch.num_rows() as u64;
        for (chunk, builder) in chunks.iter_mut().zip(&mut builders) {
            chunk.push(builder.finish());
        }
    }
    Ok(Table {
        spec,
        file: file_name,
        format: SourceFormat::Parquet,
        names,
        columns: chunks.into_iter().map(Column::from_chunks).collect(),
        // Row 1 is the header, as in CSV, so row numbers read the same in messages.
        lines: (2..rows + 2).collect(),
    })
}

fn append_as_text(array: &ArrayRef, out: &mut StringBuilder) -> Result<(), String> {
    for row in 0..array.len() {
        match value_text(array.as_ref(), row)? {
            Some(text) if !text.trim().is_empty() => out.append_value(text),
            _ => out.append_null(),
        }
    }
    Ok(())
}

fn value_text(array: &dyn Array, row: usize) -> Result<Option<String>, String> {
    if array.is_null(row) {
        return Ok(None);
    }
    let text = match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row).to_string(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).to_string(),
        DataType::Utf8View => array.as_string_view().value(row).to_string(),
        DataType::Boolean => {
            if array.as_boolean().value(row) { "True" } else { "False" }.to_string()
        }
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row).to_string(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row).to_string(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).to_string(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(row).to_string(),
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(row).to_string(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row).to_string(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).to_string(),
        DataType::Float32 => array.as_primitive::<Float32Type>().value(row).to_string(),
        DataType::Float64 => array.as_primitive::<Float64Type>().value(row).to_string(),
        DataType::Dictionary(_, _) => {
            let dict = array.as_any_dictionary();
            let key = dict.normalized_keys()[row];
            return value_text(dict.values().as_ref(), key);
        }
        DataType::List(_) => join_list(&array.as_list::<i32>().value(row))?,
        DataType::LargeList(_) => join_list(&array.as_list::<i64>().value(row))?,
        other => {
            return Err(format!(
                "unsupported Parquet column type {other}; write this column as text, a number, a boolean or a list of text"
            ))
        }
    };
    Ok(Some(text))
}

fn join_list(values: &ArrayRef) -> Result<String, String> {
    let mut parts = Vec::with_capacity(values.len());
    for i in 0..values.len() {
        if let Some(v) = value_text(values.as_ref(), i)? {
            parts.push(v);
        }
    }
    Ok(parts.join(";"))
}
