package lessons

// text is narration in the languages the lessons speak.
type text struct{ en, ko string }

// in returns the text in lang ("en" or "ko"), English when there is no translation.
func (t text) in(lang string) string {
	if lang == "ko" && t.ko != "" {
		return t.ko
	}
	return t.en
}

// Langs are the narration languages, the first being the default.
var Langs = []string{"en", "ko"}

// ValidLang reports whether lang is one of Langs.
func ValidLang(lang string) bool {
	for _, l := range Langs {
		if l == lang {
			return true
		}
	}
	return false
}
