//! The template as CloudFormation would see it for one deployment: parameters (their
//! defaults, or the values a test gives), pseudo parameters for a stack name, the
//! conditions, and the intrinsic functions the template uses, evaluated to plain JSON.
//!
//! Resources the stack creates have no value before it exists: `!Ref` to one is a
//! readable stand-in (`<stack>-<LogicalId>`), `!GetAtt X.Arn` an ARN naming it
//! (`arn:aws:test:eu-west-1:123456789012:<stack>/X`), so that tests can tell which
//! resource a policy names.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::TEMPLATE;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "eu-west-1";

/// One deployment of the template.
pub struct Stack {
    pub name: String,
    /// The stack id's unique part (CloudFormation makes a new one per creation).
    id: String,
    parameters: BTreeMap<String, Value>,
    conditions: BTreeMap<String, bool>,
}

impl Stack {
    /// The stack `name` with every parameter at its default, except `overrides`
    /// (`Name=value`, as `--parameter-overrides` takes them).
    pub fn new(name: &str, overrides: &[(&str, &str)]) -> Self {
        // A fixed id per stack name: two stacks differ, one stack is reproducible.
        let digest: u32 = name.bytes().fold(2_166_136_261, |hash, byte| {
            (hash ^ u32::from(byte)).wrapping_mul(16_777_619)
        });
        Self::with_id(
            name,
            &format!("{digest:08x}-0000-4000-8000-000000000000"),
            overrides,
        )
    }

    /// The stack `name` created with the stack id's unique part `id` (a UUID).
    pub fn with_id(name: &str, id: &str, overrides: &[(&str, &str)]) -> Self {
        let declared = TEMPLATE["Parameters"]
            .as_object()
            .expect("the template has Parameters");
        for (key, _) in overrides {
            assert!(declared.contains_key(*key), "no parameter {key}");
        }
        let mut parameters = BTreeMap::new();
        for (key, declaration) in declared {
            let raw = overrides
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| Value::String((*value).to_owned()))
                .unwrap_or_else(|| declaration["Default"].clone());
            let text = match raw {
                Value::String(text) => text,
                Value::Number(number) => number.to_string(),
                other => panic!("parameter {key}: no default and no value ({other})"),
            };
            let value = if declaration["Type"] == "CommaDelimitedList" {
                Value::Array(
                    text.split(',')
                        .map(|item| Value::String(item.trim().to_owned()))
                        .collect(),
                )
            } else {
                Value::String(text)
            };
            parameters.insert(key.clone(), value);
        }
        let mut stack = Self {
            name: name.to_owned(),
            id: id.to_owned(),
            parameters,
            conditions: BTreeMap::new(),
        };
        // Conditions may refer to earlier ones: evaluate until all are known.
        let declared = TEMPLATE["Conditions"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        while stack.conditions.len() < declared.len() {
            let before = stack.conditions.len();
            for (key, expression) in &declared {
                if stack.conditions.contains_key(key) {
                    continue;
                }
                if let Some(value) = stack.try_condition(expression) {
                    stack.conditions.insert(key.clone(), value);
                }
            }
            assert!(stack.conditions.len() > before, "circular conditions");
        }
        stack
    }

    pub fn condition(&self, name: &str) -> bool {
        *self
            .conditions
            .get(name)
            .unwrap_or_else(|| panic!("no condition {name}"))
    }

    /// The resources this deployment creates (their `Condition` holds), evaluated.
    pub fn resources(&self) -> BTreeMap<String, Value> {
        TEMPLATE["Resources"]
            .as_object()
            .expect("Resources")
            .iter()
            .filter(|(_, resource)| {
                resource["Condition"]
                    .as_str()
                    .is_none_or(|condition| self.condition(condition))
            })
            .map(|(id, resource)| (id.clone(), self.eval(resource).unwrap_or(Value::Null)))
            .collect()
    }

    pub fn resource(&self, logical_id: &str) -> Option<Value> {
        self.resources().remove(logical_id)
    }

    /// The environment variables this deployment gives a function, as Lambda sets them
    /// (every value a string).
    pub fn environment(&self, function_id: &str) -> Vec<(String, String)> {
        let function = self.resource(function_id).expect("the function");
        function["Properties"]["Environment"]["Variables"]
            .as_object()
            .expect("environment variables")
            .iter()
            .map(|(key, value)| {
                let value = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (key.clone(), value)
            })
            .collect()
    }

    /// The outputs this deployment has, evaluated.
    pub fn outputs(&self) -> BTreeMap<String, Value> {
        TEMPLATE["Outputs"]
            .as_object()
            .expect("Outputs")
            .iter()
            .filter(|(_, output)| {
                output["Condition"]
                    .as_str()
                    .is_none_or(|condition| self.condition(condition))
            })
            .map(|(id, output)| (id.clone(), self.eval(output).unwrap_or(Value::Null)))
            .collect()
    }

    /// The ARN that stands in for `!GetAtt <logical_id>.Arn`.
    pub fn arn_of(&self, logical_id: &str) -> String {
        format!("arn:aws:test:{REGION}:{ACCOUNT}:{}/{logical_id}", self.name)
    }

    /// What `!Ref <logical_id>` of a resource stands for.
    pub fn name_of(&self, logical_id: &str) -> String {
        format!("{}-{logical_id}", self.name)
    }

    pub fn root(&self) -> String {
        format!("arn:aws:iam::{ACCOUNT}:root")
    }

    fn stack_id(&self) -> String {
        format!(
            "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{}/{}",
            self.name, self.id
        )
    }

    fn pseudo(&self, name: &str) -> Option<Value> {
        Some(Value::String(match name {
            "AWS::StackName" => self.name.clone(),
            "AWS::StackId" => self.stack_id(),
            "AWS::Region" => REGION.to_owned(),
            "AWS::AccountId" => ACCOUNT.to_owned(),
            "AWS::Partition" => "aws".to_owned(),
            "AWS::URLSuffix" => "amazonaws.com".to_owned(),
            _ => return None,
        }))
    }

    fn reference(&self, name: &str) -> Option<Value> {
        if name == "AWS::NoValue" {
            return None;
        }
        if let Some(value) = self.pseudo(name) {
            return Some(value);
        }
        if let Some(value) = self.parameters.get(name) {
            return Some(value.clone());
        }
        assert!(
            TEMPLATE["Resources"].get(name).is_some(),
            "!Ref {name}: neither a parameter nor a resource"
        );
        Some(Value::String(self.name_of(name)))
    }

    fn try_condition(&self, expression: &Value) -> Option<bool> {
        let object = expression.as_object()?;
        let (function, argument) = object.iter().next()?;
        let list = || argument.as_array().cloned().unwrap_or_default();
        Some(match function.as_str() {
            "Condition" => *self.conditions.get(argument.as_str()?)?,
            "Fn::Equals" => {
                let items = list();
                self.eval(&items[0]) == self.eval(&items[1])
            }
            "Fn::Not" => !self.try_condition(&list()[0])?,
            "Fn::And" => {
                let mut all = true;
                for item in list() {
                    all &= self.try_condition(&item)?;
                }
                all
            }
            "Fn::Or" => {
                let mut any = false;
                for item in list() {
                    any |= self.try_condition(&item)?;
                }
                any
            }
            other => panic!("unknown condition function {other}"),
        })
    }

    /// Evaluates a template value; `None` is `AWS::NoValue` (the key or item is dropped).
    pub fn eval(&self, value: &Value) -> Option<Value> {
        match value {
            Value::Array(items) => Some(Value::Array(
                items.iter().filter_map(|item| self.eval(item)).collect(),
            )),
            Value::Object(object) if object.len() == 1 => {
                let (key, argument) = object.iter().next().expect("one entry");
                match key.as_str() {
                    "Ref" => self.reference(argument.as_str().expect("!Ref takes a name")),
                    "Fn::GetAtt" => {
                        let parts = argument.as_array().expect("!GetAtt takes a list");
                        let (id, attribute) = (
                            parts[0].as_str().expect("logical id"),
                            parts[1].as_str().expect("attribute"),
                        );
                        Some(Value::String(match attribute {
                            "Arn" => self.arn_of(id),
                            _ => format!("{}.{attribute}", self.name_of(id)),
                        }))
                    }
                    "Fn::If" => {
                        let parts = argument.as_array().expect("!If takes a list");
                        let condition = parts[0].as_str().expect("a condition name");
                        if self.condition(condition) {
                            self.eval(&parts[1])
                        } else {
                            self.eval(&parts[2])
                        }
                    }
                    "Fn::Sub" => Some(Value::String(self.sub(argument))),
                    "Fn::Join" => {
                        let parts = argument.as_array().expect("!Join takes a list");
                        let separator = parts[0].as_str().expect("a separator");
                        let items = self.eval(&parts[1]).expect("a list to join");
                        Some(Value::String(
                            items
                                .as_array()
                                .expect("a list to join")
                                .iter()
                                .map(|item| item.as_str().expect("a string").to_owned())
                                .collect::<Vec<_>>()
                                .join(separator),
                        ))
                    }
                    "Fn::Split" => {
                        let parts = argument.as_array().expect("!Split takes a list");
                        let separator = parts[0].as_str().expect("a separator");
                        let text = self.eval(&parts[1]).expect("a string to split");
                        Some(Value::Array(
                            text.as_str()
                                .expect("a string to split")
                                .split(separator)
                                .map(|part| Value::String(part.to_owned()))
                                .collect(),
                        ))
                    }
                    "Fn::Select" => {
                        let parts = argument.as_array().expect("!Select takes a list");
                        let index = match self.eval(&parts[0]).expect("an index") {
                            Value::Number(number) => number.as_u64().expect("an index"),
                            Value::String(text) => text.parse().expect("an index"),
                            other => panic!("index {other}"),
                        };
                        let list = self.eval(&parts[1]).expect("a list");
                        Some(list[usize::try_from(index).expect("an index")].clone())
                    }
                    "Condition" => Some(Value::Bool(
                        self.condition(argument.as_str().expect("a condition name")),
                    )),
                    _ => Some(Value::Object(self.eval_object(object))),
                }
            }
            Value::Object(object) => Some(Value::Object(self.eval_object(object))),
            other => Some(other.clone()),
        }
    }

    fn eval_object(&self, object: &Map<String, Value>) -> Map<String, Value> {
        object
            .iter()
            .filter_map(|(key, value)| Some((key.clone(), self.eval(value)?)))
            .collect()
    }

    fn sub(&self, argument: &Value) -> String {
        let (template, variables) = match argument {
            Value::String(text) => (text.as_str(), Map::new()),
            Value::Array(parts) => (
                parts[0].as_str().expect("a !Sub template"),
                self.eval_object(parts[1].as_object().expect("!Sub variables")),
            ),
            other => panic!("odd !Sub {other}"),
        };
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').expect("a closed ${...}");
            let name = &after[..end];
            let value = if let Some(value) = variables.get(name) {
                value.clone()
            } else if let Some((id, attribute)) = name.split_once('.') {
                self.eval(&json!({"Fn::GetAtt": [id, attribute]}))
                    .expect("an attribute")
            } else {
                self.reference(name)
                    .unwrap_or_else(|| panic!("${{{name}}} has no value"))
            };
            out.push_str(
                value
                    .as_str()
                    .unwrap_or_else(|| panic!("${{{name}}} is a string")),
            );
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// The statements of an evaluated policy document.
pub fn statements(document: &Value) -> Vec<Value> {
    match &document["Statement"] {
        Value::Array(items) => items.clone(),
        Value::Object(_) => vec![document["Statement"].clone()],
        other => panic!("policy document without statements: {other}"),
    }
}

/// A value that is one string or a list of strings; anything else fails the test.
pub fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().expect("a string").to_owned())
            .collect(),
        other => panic!("{other} is neither a string nor a list of strings"),
    }
}

/// [`strings`] of a value that may be absent (none).
pub fn optional_strings(value: &Value) -> Vec<String> {
    match value {
        Value::Null => vec![],
        present => strings(present),
    }
}

/// The AWS principals of a statement (`Principal.AWS`), `*` for `Principal: "*"`.
pub fn aws_principals(statement: &Value) -> Vec<String> {
    match &statement["Principal"] {
        Value::String(text) => vec![text.clone()],
        principal => optional_strings(&principal["AWS"]),
    }
}
