package nn

// Options configure a model builder. The zero value of a field means the
// model's default.
type Options struct {
	Classes        int  // classifier width; 0 means the model's default
	Aux            bool // build the auxiliary heads, where the model has them
	TransformInput bool // prepend torchvision's transform_input remapping, where the model has it
}

// ClassesOr returns o.Classes, or def when o leaves it at 0 (the model's
// default width).
func (o Options) ClassesOr(def int) int {
	if o.Classes > 0 {
		return o.Classes
	}
	return def
}
