//! The app registry: every AppId the snapshot mentions, with its service principal.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};
use crate::snapshot::{guid_cell, parse_guid, Table};

/// One application, identified by its AppId (client id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct App {
    /// Lower-cased AppId.
    pub app_id: String,
    pub object_id: Option<String>,
    pub display_name: Option<String>,
    /// Whether the snapshot has a service principal row for it.
    pub has_service_principal: bool,
}

impl App {
    /// Display name when known, else the AppId.
    pub fn label(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.app_id)
    }
}

/// Outcome of looking an assignee up among service principals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppLookup {
    Found(u32),
    NotFound,
    Ambiguous(Vec<u32>),
}

/// Apps by index (sorted by AppId) and the lookups into them.
#[derive(Debug, Clone, Default)]
pub struct AppRegistry {
    pub apps: Vec<App>,
    by_app_id: HashMap<String, u32>,
    by_object_id: HashMap<String, u32>,
    by_display_name: HashMap<String, Vec<u32>>,
}

/// Collects AppIds before indices are assigned.
#[derive(Debug, Default)]
pub struct AppCollector {
    apps: BTreeMap<String, App>,
    object_ids: HashMap<String, String>,
}

impl AppCollector {
    /// Adds every service principal row.
    pub fn add_service_principals(&mut self, table: &Table) -> Result<()> {
        if table.is_empty() {
            return Ok(());
        }
        let app_col = table.column(&["AppId"]).expect("required");
        let obj_col = table.column(&["ObjectId"]).expect("required");
        let name_col = table.column(&["DisplayName"]);
        for row in 0..table.len() {
            let app_id = guid_cell(app_col, row)?.ok_or_else(|| {
                Error::data(
                    app_col.location(row),
                    "AppId is blank; every service principal needs one",
                )
            })?;
            let object_id = guid_cell(obj_col, row)?;
            if self
                .apps
                .get(&app_id)
                .is_some_and(|a| a.has_service_principal)
            {
                return Err(Error::data(
                    app_col.location(row),
                    format!("duplicate service principal for AppId {app_id}; keep one row per service principal"),
                ));
            }
            if let Some(o) = &object_id {
                self.object_ids.insert(o.clone(), app_id.clone());
            }
            self.apps.insert(
                app_id.clone(),
                App {
                    app_id,
                    object_id,
                    display_name: name_col.and_then(|c| c.get(row)).map(str::to_string),
                    has_service_principal: true,
                },
            );
        }
        Ok(())
    }

    /// The AppId of a service principal object id, if the snapshot has it.
    pub fn app_id_of_object(&self, object_id: &str) -> Option<&str> {
        self.object_ids.get(object_id).map(String::as_str)
    }

    /// Registers an AppId seen in a grant or policy.
    pub fn add_app_id(&mut self, app_id: &str) {
        self.apps.entry(app_id.to_string()).or_insert_with(|| App {
            app_id: app_id.to_string(),
            ..App::default()
        });
    }

    pub fn finish(self) -> AppRegistry {
        let apps: Vec<App> = self.apps.into_values().collect();
        let mut registry = AppRegistry::default();
        for (i, app) in apps.iter().enumerate() {
            let i = i as u32;
            registry.by_app_id.insert(app.app_id.clone(), i);
            if let Some(o) = &app.object_id {
                registry.by_object_id.insert(o.clone(), i);
            }
            if let Some(n) = &app.display_name {
                registry
                    .by_display_name
                    .entry(n.to_lowercase())
                    .or_default()
                    .push(i);
            }
        }
        registry.apps = apps;
        registry
    }
}

impl AppRegistry {
    pub fn by_app_id(&self, app_id: &str) -> Option<u32> {
        parse_guid(app_id).and_then(|id| self.by_app_id.get(&id).copied())
    }

    /// Finds a service principal the way `-App` / `-Identity` accept it:
    /// ObjectId or AppId first, then DisplayName.
    pub fn lookup_principal(&self, identity: &str) -> AppLookup {
        if let Some(id) = parse_guid(identity) {
            if let Some(&i) = self.by_object_id.get(&id) {
                return AppLookup::Found(i);
            }
            if let Some(&i) = self.by_app_id.get(&id) {
                if self.apps[i as usize].has_service_principal {
                    return AppLookup::Found(i);
                }
            }
        }
        match self
            .by_display_name
            .get(&identity.trim().to_lowercase())
            .map(Vec::as_slice)
        {
            Some([one]) => AppLookup::Found(*one),
            Some(many) if !many.is_empty() => AppLookup::Ambiguous(many.to_vec()),
            _ => AppLookup::NotFound,
        }
    }
}
