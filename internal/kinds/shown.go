package kinds

// Row is one resource as a list shows it: the reference that names it and
// the texts of the list's columns.
type Row struct {
	Ref   string
	Cells []string
}

// shown is a kind's View with its types erased, for pages that show every
// kind the same way.
type shown struct {
	columns []string
	rows    func(all any) []Row
	detail  func(r any, server string) ([]Field, bool)
}

func shownOf[R, S, W any](d Desc[R, S, W]) shown {
	titles := make([]string, len(d.View.Columns))
	for i, c := range d.View.Columns {
		titles[i] = c.Title
	}
	return shown{
		columns: titles,
		rows: func(all any) []Row {
			rs, _ := all.([]R)
			rows := make([]Row, len(rs))
			for i, r := range rs {
				cells := make([]string, len(d.View.Columns))
				for j, c := range d.View.Columns {
					cells[j] = c.Value(r)
				}
				rows[i] = Row{Ref: d.Name(d.Spec(r)), Cells: cells}
			}
			return rows
		},
		detail: func(v any, server string) ([]Field, bool) {
			r, ok := v.(R)
			if !ok || d.View.Detail == nil {
				return nil, false
			}
			return d.View.Detail(r, server), true
		},
	}
}

// Columns are the titles of the kind's list columns, as the CLI shows them.
func (k Kind) Columns() []string { return append([]string(nil), k.shown.columns...) }

// Rows are the rows of a list of the kind (what List answers, possibly
// redacted), one per resource, in the columns of Columns.
func (k Kind) Rows(all any) []Row {
	if k.shown.rows == nil {
		return nil
	}
	return k.shown.rows(all)
}

// Detail is what the CLI's get shows of one resource (what Get answers,
// possibly redacted), given the server's URL; false when the kind shows
// its resources as JSON instead.
func (k Kind) Detail(r any, server string) ([]Field, bool) {
	if k.shown.detail == nil {
		return nil, false
	}
	return k.shown.detail(r, server)
}
