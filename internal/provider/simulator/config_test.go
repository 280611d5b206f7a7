package simulator

import "testing"

func TestConfigProvision(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := Config{}.Provision("simulator", Env{Models: map[string]ModelSettings{"acme.m-v1": {ThrottleRate: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if m := got.(*Simulator).models["acme.m-v1"]; m == nil || m.throttleRate != 1 {
		t.Errorf("the model's settings were not used: %+v", m)
	}
}
