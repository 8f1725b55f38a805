# Deny a plan whose resources would cost more than a budget per hour once it is applied.
#
# Written for Terraform's plan JSON, the way a budget policy is written for Terraform: from the planned
# values alone (what exists after apply), priced by the policy's own table of instance types. It runs
# unchanged on `tpdeclare plan --json` (tpdeclare's own estimate is in its plan too, as `cost.after_hourly`).
#
#   conftest test plan.json --policy examples/policy
#   opa eval --data examples/policy --input plan.json 'data.main'
package main

import rego.v1

# USD per hour for the whole stack.
max_hourly_usd := 60

# USD per instance-hour (one node) by instance type: TensorPool's, from tpdeclare's price table of 2026-11,
# and, for the Terraform example, a few AWS GPU instances (illustrative on-demand prices). Add the types you use.
hourly_usd := {
	"1xH100": 1.99, "2xH100": 3.98, "4xH100": 7.96, "8xH100": 15.92,
	"1xH200": 2.99, "2xH200": 5.98, "4xH200": 11.96, "8xH200": 23.92,
	"1xB200": 4.99, "2xB200": 9.98, "4xB200": 19.96, "8xB200": 39.92,
	"1xB300": 5.49, "2xB300": 10.98, "4xB300": 21.96, "8xB300": 43.92,
	"1xL40S": 1.49, "32xCPU": 0.48, "64xCPU": 0.96,
	"g6.xlarge": 0.8048, "g6.12xlarge": 4.6016, "p5.48xlarge": 55.04,
}

# USD per hour of each managed resource that exists after apply, by address: a cluster of N nodes counts N times.
planned_hourly[r.address] := usd if {
	r := input.planned_values.root_module.resources[_]
	r.mode == "managed"
	usd := hourly_usd[r.values.instance_type] * object.get(r.values, "num_nodes", 1)
}

planned_hourly_usd := sum([usd | some usd in planned_hourly])

deny contains msg if {
	planned_hourly_usd > max_hourly_usd
	msg := sprintf("the plan would cost $%v/hour, over the budget of $%v/hour", [round(planned_hourly_usd * 100) / 100, max_hourly_usd])
}

warn contains msg if {
	r := input.planned_values.root_module.resources[_]
	r.mode == "managed"
	itype := r.values.instance_type
	not hourly_usd[itype]
	msg := sprintf("%s: no price for instance type %s; the budget does not count it", [r.address, itype])
}
