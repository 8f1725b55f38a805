# Deny any plan that deletes a resource: a destroy, or a replace (its actions are ["delete", "create"]).
#
# Written for Terraform's plan JSON (`terraform show -json tfplan`), the way such policies are written for
# Terraform; `tpdeclare plan --json` has the same shape, so the policy runs unchanged on both:
#
#   tpdeclare plan clusters/ --json > plan.json
#   conftest test plan.json --policy examples/policy
#   opa eval --fail-defined --data examples/policy --input plan.json 'data.main.deny[msg]'
package main

import rego.v1

deny contains msg if {
	rc := input.resource_changes[_]
	rc.change.actions[_] == "delete"
	msg := sprintf("%s would be deleted (%s: %s)", [rc.address, rc.type, concat(", ", rc.change.actions)])
}
