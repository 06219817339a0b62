package capture_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/internal/capture"
)

func ExampleWatch() {
	dir, err := os.MkdirTemp("", "capture")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "example.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.AutoMigrate(&Item{}); err != nil {
		log.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()

	_, err = capture.Watch(db, func(changes []capture.Change) {
		for _, ch := range changes {
			fmt.Println(ch.Op, ch.Table, ch.Key, string(ch.Data))
		}
	}, &Item{})
	if err != nil {
		log.Fatal(err)
	}

	db.Create(&Item{Name: "apple", Price: 10.5})
	db.Transaction(func(tx *gorm.DB) error {
		tx.Model(&Item{ID: 1}).Update("price", 12)
		tx.Create(&Item{Name: "pear"})
		return fmt.Errorf("changed my mind") // nothing of this is published
	})
	db.Delete(&Item{}, 1)
	// Output:
	// create items 1 {"id":1,"name":"apple","price":10.5,"tags":null}
	// delete items 1
}

func ExampleCapture_Exclusive() {
	dir, err := os.MkdirTemp("", "capture")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "example.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.AutoMigrate(&Item{}); err != nil {
		log.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()

	// seq numbers the changes; a snapshot taken under Exclusive is exactly
	// the state after change seq.
	var seq int
	c, err := capture.Watch(db, func(changes []capture.Change) { seq += len(changes) }, &Item{})
	if err != nil {
		log.Fatal(err)
	}
	db.Create(&Item{Name: "apple"})
	db.Create(&Item{Name: "pear"})

	var snapshot []Item
	var at int
	err = c.Exclusive(context.Background(), func(tx *gorm.DB) error {
		at = seq // no commit can change seq while fn runs
		return tx.Order("id").Find(&snapshot).Error
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(snapshot), "rows at seq", at)
	// Output:
	// 2 rows at seq 2
}
