package ec2api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/vpcemu/vpcemu/vpc"
)

// Error is an EC2 error response (API-11): an AWS error code, a message and
// the HTTP status it is sent with (API-12).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns the error with code and a formatted message; the status
// follows from the code (API-12).
func Errorf(code, format string, args ...any) *Error {
	return &Error{Status: statusOf(code), Code: code, Message: fmt.Sprintf(format, args...)}
}

// statusOf is the HTTP status of an error code: client errors are 4xx, so a
// deterministic failure is never retried by the SDKs (API-12).
func statusOf(code string) int {
	switch code {
	case "AuthFailure", "UnauthorizedOperation", "SignatureDoesNotMatch", "IncompleteSignature", "RequestExpired":
		return http.StatusForbidden
	case "DryRunOperation":
		return http.StatusPreconditionFailed // [UNCONFIRMED] API-OQ-1
	case "InternalError":
		return http.StatusInternalServerError
	case "Unavailable", "RequestLimitExceeded":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// Common errors.
func missing(name string) *Error {
	return Errorf("MissingParameter", "The request must contain the parameter %s", name)
}

func invalidValue(format string, args ...any) *Error {
	return Errorf("InvalidParameterValue", format, args...)
}

func dryRunOK() *Error {
	return Errorf("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
}

// FromValidation turns the error of an Apply into an API error: a
// vpc.ErrorList (the topology file's validation) gives its first error
// that carries an AWS code, else its first error as InvalidParameterValue;
// an *Error passes through; anything else is an InternalError.
func FromValidation(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var list vpc.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		first := list[0]
		for _, ve := range list {
			if ve.Code != "" {
				first = ve
				break
			}
		}
		code := first.Code
		if code == "" {
			code = "InvalidParameterValue"
		}
		return Errorf(code, "%s", first.Msg)
	}
	var ve *vpc.Error
	if errors.As(err, &ve) {
		code := ve.Code
		if code == "" {
			code = "InvalidParameterValue"
		}
		return Errorf(code, "%s", ve.Msg)
	}
	return Errorf("InternalError", "%v", err)
}
